"""Loaders for on-disk data formats shared by the real tasks.

LLaMA-Factory "sharegpt" JSON (the format of Paper A's released test files): a list of items
`{"messages": [{"role": "user", "content": "<image>\\n…"}, {"role": "assistant", "content": GOLD}],
"images": [REL_PATH, …]}`, optionally with `id` and other fields (kept in `meta`). Each `<image>`
placeholder in the user text is one image, in order. A sample's id is its `id` field when present,
else its index in the file as a string.

Images are paths, resolved against `image_root` (default: the JSON file's folder) and opened only
when a model needs them, so scoring stored responses never touches them. `check_images` finds the
missing ones before generation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from tasks.base import Sample

IMAGE_PLACEHOLDER = "<image>"


def load_llamafactory_json(path: str | Path, image_root: str | Path | None = None) -> list[Sample]:
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"data file not found: {path}")
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise HarnessError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(items, list):
        raise HarnessError(f"{path}: expected a JSON list of LLaMA-Factory items")
    root = Path(image_root) if image_root is not None else path.parent
    samples, seen = [], set()
    for index, item in enumerate(items):
        sample = _sample_from_item(item, index, root, path)
        if sample.id in seen:
            raise HarnessError(f"{path}: item {index}: duplicate id {sample.id!r}")
        seen.add(sample.id)
        samples.append(sample)
    return samples


def _sample_from_item(item: Any, index: int, root: Path, path: Path) -> Sample:
    where = f"{path}: item {index}"
    if not isinstance(item, dict) or not isinstance(item.get("messages"), list):
        raise HarnessError(f"{where}: expected an object with a 'messages' list")
    turns = item["messages"]
    users = [t for t in turns if isinstance(t, dict) and t.get("role") == "user"]
    answers = [t for t in turns if isinstance(t, dict) and t.get("role") == "assistant"]
    if not users or not answers or not isinstance(users[0].get("content"), str) or not isinstance(answers[-1].get("content"), str):
        raise HarnessError(f"{where}: needs a user turn and an assistant turn with string content")
    text = users[0]["content"]
    images = item.get("images") or []
    if not isinstance(images, list) or not all(isinstance(p, str) for p in images):
        raise HarnessError(f"{where}: 'images' must be a list of paths")
    if text.count(IMAGE_PLACEHOLDER) != len(images):
        raise HarnessError(
            f"{where}: {text.count(IMAGE_PLACEHOLDER)} {IMAGE_PLACEHOLDER} placeholders but {len(images)} images"
        )
    sid = str(item["id"]) if "id" in item else str(index)
    meta = {k: v for k, v in item.items() if k not in ("messages", "images", "id")}
    return Sample(
        id=sid,
        messages=[{"role": "user", "content": _parts(text)}],
        target=answers[-1]["content"],
        images=[root / p for p in images],
        meta=meta,
    )


def _parts(text: str) -> list[dict[str, Any]]:
    """Split user text at `<image>` placeholders into image and text parts, in order."""
    parts: list[dict[str, Any]] = []
    chunks = text.split(IMAGE_PLACEHOLDER)
    for i, chunk in enumerate(chunks):
        if i > 0:
            parts.append({"type": "image"})
        if chunk.strip():
            parts.append({"type": "text", "text": chunk.strip("\n")})
    return parts


def check_images(samples: list[Sample], skip_missing: bool) -> list[str]:
    """Ids of samples with an image file that does not exist. With `skip_missing`, return them
    (the caller drops and records them); otherwise raise one error that counts them and names the
    first few."""
    missing = [s.id for s in samples if any(isinstance(p, Path) and not p.is_file() for p in s.images)]
    if missing and not skip_missing:
        first = next(p for s in samples if s.id == missing[0] for p in s.images if not Path(p).is_file())
        raise HarnessError(
            f"{len(missing)} of {len(samples)} samples have missing images (first: id {missing[0]}, {first}); "
            f"ids: {', '.join(missing[:5])}{', …' if len(missing) > 5 else ''}; "
            "set the image root, or skip them explicitly (skipped ids are recorded)"
        )
    return missing
