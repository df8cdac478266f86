"""PEFT LoRA adapters as stage checkpoints: merged into their base once, cached by content.

A stage folder holding `adapter_config.json` and `adapter_model.safetensors` (and no
`config.json`) is an adapter. Its base is the manifest entry's `adapter_base` (a path relative to
the run folder), else the adapter config's `base_model_name_or_path`; the base passes the same
gate as every checkpoint (`check_model_folder`), the adapter's weights the safetensors check.
The merged model (`merge_and_unload`, in fp32 on CPU, saved as safetensors with the base's
tokenizer and processor files) is written once to `merged_cache_root()/<digest>`, the digest
covering the base's fingerprint and the adapter's files, so generation sees an ordinary model
folder and a rerun reuses the merge. Needs `peft` (`pip install peft`, in the `dev` extra).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from harness.errors import HarnessError
from harness.files import read_config
from harness.runs.fingerprint import FingerprintCache, check_model_folder, check_safetensors, fingerprint

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
# The base's files a merged folder needs beside the weights (tokenizer, processor, templates).
CARRIED = ("tokenizer*", "vocab*", "merges.txt", "special_tokens_map.json", "added_tokens.json", "chat_template*",
           "preprocessor_config.json", "processor_config.json", "video_preprocessor_config.json", "generation_config.json")


def is_adapter(folder: Path) -> bool:
    return (folder / "adapter_config.json").is_file() and not (folder / "config.json").is_file()


def merged_cache_root() -> Path:
    """`$CPT_HARNESS_MERGED`, else `<user cache>/cpt-harness/merged`."""
    if os.environ.get("CPT_HARNESS_MERGED"):
        return Path(os.environ["CPT_HARNESS_MERGED"])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "cpt-harness" / "merged"


def adapter_base(adapter: Path, label: str) -> str:
    """The base named in the adapter's config (a path or a hub id)."""
    cfg = read_config(adapter / "adapter_config.json", label)
    base = cfg.get("base_model_name_or_path") if isinstance(cfg, dict) else None
    if not isinstance(base, str) or not base:
        raise HarnessError(f"{label}: {adapter / 'adapter_config.json'} names no base_model_name_or_path; give adapter_base in the manifest")
    return base


def check_adapter(adapter: Path, label: str) -> None:
    for name in ADAPTER_FILES:
        if not (adapter / name).is_file():
            raise HarnessError(f"{label}: {adapter} has no {name}")
    check_safetensors(adapter / "adapter_model.safetensors", label)


def write_merged(adapter: Path, base: Path, folder: Path, label: str, dtype: str = "float32") -> None:
    """Write `adapter` merged into `base` (`merge_and_unload` in fp32 on CPU, saved as `dtype`)
    into the new folder `folder`, with the base's tokenizer and processor files."""
    try:
        from peft import PeftModel
    except ImportError:
        raise HarnessError(f"{label}: {adapter} is a LoRA adapter; loading it needs peft: pip install peft") from None
    import torch

    from harness.engine.hf import load_model

    model = load_model(str(base), torch.float32, "cpu")
    try:
        merged = PeftModel.from_pretrained(model, str(adapter), is_trainable=False).merge_and_unload()
    except Exception as e:  # a shape or module mismatch between adapter and base
        raise HarnessError(f"{label}: cannot apply adapter {adapter} to {base}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    folder.mkdir(parents=True)
    merged.to(getattr(torch, dtype)).save_pretrained(folder, safe_serialization=True)
    for pattern in CARRIED:
        for f in base.glob(pattern):
            if f.is_file() and not (folder / f.name).exists():
                shutil.copy2(f, folder / f.name)


def merged_folder(adapter: Path, base: Path, label: str) -> Path:
    """The adapter merged into `base`, from the cache or made now (see the module docstring)."""
    check_adapter(adapter, label)
    check_model_folder(base, f"{label} base")
    cache = FingerprintCache(merged_cache_root() / "file-digests.json")  # a base's weights are hashed once
    h = hashlib.sha256(fingerprint(base, cache).encode())
    for name in ADAPTER_FILES:
        h.update(b"\0" + name.encode() + b"\0" + cache.file_digest(adapter / name).encode())
    cache.save()
    out = merged_cache_root() / h.hexdigest()[:32]
    if (out / "config.json").is_file():
        return out
    tmp = out.with_name(out.name + f".partial{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    write_merged(adapter, base, tmp, label)
    try:
        os.replace(tmp, out)
    except OSError:  # another process merged the same adapter meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    return out
