"""A tiny random Qwen2.5-VL laid out as Qwen releases Qwen2.5-VL-7B-Instruct: the folder a real
user points the harness at, at a size this machine runs.

`build_release_model(out, seed)` writes, offline and deterministically (same seed, same bytes):
- `config.json`: the release's flat layout (text settings at the top level, `vision_config`
  nested, `rope_scaling` {"type": "mrope", "mrope_section": …}, the release's token ids:
  bos 151643, eos 151645, vision start/end/pad 151652/151653/151654, image 151655, video
  151656; vocabulary 152,064; `tie_word_embeddings` false; `torch_dtype` bfloat16), with tiny
  sizes: hidden 64 in 2 heads of 32 (vLLM's CPU attention has kernels from head size 32 up) and
  1 key/value head, `mrope_section` [4, 6, 6] (the release's [16, 24, 24] for head size 128, a
  quarter), 2 layers; a vision tower of depth 2 (full attention in its last block, as the
  release's in blocks 7, 15, 23, 31), hidden 64 in 2 heads, patch 14, merge 2, temporal patch 2,
  window 112, 2 tokens per second.
- `generation_config.json`: the release's sampling defaults (`do_sample` true, `top_k` 1,
  `top_p` 0.001, `temperature` 0.1, `repetition_penalty` 1.05, eos [151645, 151643], bos and pad
  151643): values a harness must not let decide its decoding.
- `preprocessor_config.json`: `Qwen2VLImageProcessor` for `Qwen2_5_VLProcessor`, pixels in
  [3,136, 12,845,056], patch 14, temporal patch 2, merge 2, CLIP's mean and std. No
  `processor_config.json` (the release has none, so `AutoProcessor` builds the stock
  processor, whose video part needs torchvision).
- `chat_template.json`: the release's template (`tasks.presets.QWEN25VL_CHAT_TEMPLATE`).
- `tokenizer.json`, `tokenizer_config.json` (`Qwen2Tokenizer`, eos `<|im_end|>`, pad
  `<|endoftext|>`, no bos, `model_max_length` 131072, the chat template again, as the release's
  tokenizer config carries it), `vocab.json`, `merges.txt`: the byte-level
  BPE trained on the toy tasks (`baselines.tiny_model`), its vocabulary padded with unreachable
  entries to 151,643 ordinary tokens, then the release's 22 added tokens at the release's ids
  151643…151664 (`<|endoftext|>` … `<|file_sep|>`; the first 14 special).
- `model-00001-of-00002.safetensors`, `model-00002-of-00002.safetensors` and
  `model.safetensors.index.json`: bf16 weights, under the release's tensor names
  (`model.embed_tokens…`, `model.layers…`, `visual.…`, `lm_head.weight`).

Where the values come from (public copies of the release's files, searched 2026-11-30): the chat
template is the string transformers' own processor tests use (huggingface/transformers
`tests/models/qwen2_vl/test_processing_qwen2_vl.py`, `prepare_processor_dict`) and the hub's API
reports for Qwen2.5-VL-7B-based checkpoints; the preprocessor values and the tokenizer's special
tokens, class and lengths as the loaded release processor prints them (quoted in several public
repositories); the config's token ids, vocabulary, layout and vision settings as Qwen2.5-VL-7B
configs are quoted in public loaders; `top_k` 1 and the repetition penalty as users of the
release report them (QwenLM/Qwen3-VL issue #722 links the release's generation_config.json;
PrimeIntellect-ai/prime-rl pull request #886 on Qwen2.5 instruct models' 1.05 penalty). The
temperature and top-p of that file were not in any copy reachable from here; 0.1 and 0.001 stand
for "nearly greedy", which is what matters: `tests/test_release_model.py` shows they decide no
decoding.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import torch

RELEASE_ADDED_TOKENS = [  # (id, content, special) as in the release's tokenizer_config.json
    (151643, "<|endoftext|>", True), (151644, "<|im_start|>", True), (151645, "<|im_end|>", True),
    (151646, "<|object_ref_start|>", True), (151647, "<|object_ref_end|>", True), (151648, "<|box_start|>", True),
    (151649, "<|box_end|>", True), (151650, "<|quad_start|>", True), (151651, "<|quad_end|>", True),
    (151652, "<|vision_start|>", True), (151653, "<|vision_end|>", True), (151654, "<|vision_pad|>", True),
    (151655, "<|image_pad|>", True), (151656, "<|video_pad|>", True), (151657, "<tool_call>", False),
    (151658, "</tool_call>", False), (151659, "<|fim_prefix|>", False), (151660, "<|fim_middle|>", False),
    (151661, "<|fim_suffix|>", False), (151662, "<|fim_pad|>", False), (151663, "<|repo_name|>", False),
    (151664, "<|file_sep|>", False),
]
ORDINARY_TOKENS = 151643
VOCAB_SIZE = 152064

CONFIG = {
    "architectures": ["Qwen2_5_VLForConditionalGeneration"],
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "vision_start_token_id": 151652,
    "vision_end_token_id": 151653,
    "vision_token_id": 151654,
    "image_token_id": 151655,
    "video_token_id": 151656,
    "hidden_act": "silu",
    "hidden_size": 64,
    "initializer_range": 0.02,
    "intermediate_size": 128,
    "max_position_embeddings": 128000,
    "max_window_layers": 2,
    "model_type": "qwen2_5_vl",
    "num_attention_heads": 2,
    "num_hidden_layers": 2,
    "num_key_value_heads": 1,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "sliding_window": 32768,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.41.2",
    "use_cache": True,
    "use_sliding_window": False,
    "vision_config": {
        "depth": 2,
        "hidden_act": "silu",
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_heads": 2,
        "in_chans": 3,
        "out_hidden_size": 64,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "spatial_patch_size": 14,
        "window_size": 112,
        "fullatt_block_indexes": [1],
        "tokens_per_second": 2,
        "temporal_patch_size": 2,
    },
    "rope_scaling": {"type": "mrope", "mrope_section": [4, 6, 6]},
    "vocab_size": VOCAB_SIZE,
}
GENERATION_CONFIG = {
    "bos_token_id": 151643,
    "pad_token_id": 151643,
    "do_sample": True,
    "eos_token_id": [151645, 151643],
    "repetition_penalty": 1.05,
    "temperature": 0.1,
    "top_p": 0.001,
    "top_k": 1,
    "transformers_version": "4.37.0",
}
PREPROCESSOR_CONFIG = {
    "min_pixels": 3136,
    "max_pixels": 12845056,
    "patch_size": 14,
    "temporal_patch_size": 2,
    "merge_size": 2,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "image_processor_type": "Qwen2VLImageProcessor",
    "processor_class": "Qwen2_5_VLProcessor",
}
# Wider than the usual 0.02 so that the random model's next-token choices are decisive: greedy
# text then compares engines, not rounding (as for baselines.tiny_model's text model).
INIT_RANGE = 0.2


def _tokenizer_files(out: Path) -> None:
    """tokenizer.json, vocab.json, merges.txt and tokenizer_config.json in the release's form."""
    from tokenizers import AddedToken, Tokenizer

    from baselines.tiny_model import SPECIAL_TOKENS, _trained_tokenizer_json
    from tasks.presets import QWEN25VL_CHAT_TEMPLATE

    trained = json.loads(_trained_tokenizer_json(2048))
    ordinary = [t for t, _ in sorted(trained["model"]["vocab"].items(), key=lambda kv: kv[1]) if t not in SPECIAL_TOKENS]
    vocab = {t: i for i, t in enumerate(ordinary)}
    for k in range(len(vocab), ORDINARY_TOKENS):  # entries no merge reaches: the release's vocabulary size
        vocab[f"<|unused_{k}|>"] = k
    trained["added_tokens"] = []
    trained["model"]["vocab"] = vocab
    tokenizer = Tokenizer.from_str(json.dumps(trained))
    for token_id, content, special in RELEASE_ADDED_TOKENS:
        added = AddedToken(content, special=special, normalized=False)
        (tokenizer.add_special_tokens if special else tokenizer.add_tokens)([added])
        assert tokenizer.token_to_id(content) == token_id, content
    tokenizer.save(str(out / "tokenizer.json"))
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    merges = trained["model"]["merges"]
    (out / "merges.txt").write_text("#version: 0.2\n" + "".join(" ".join(m) + "\n" for m in merges))
    decoder = {str(i): {"content": c, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": s}
               for i, c, s in RELEASE_ADDED_TOKENS}
    (out / "tokenizer_config.json").write_text(json.dumps({
        "add_prefix_space": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": [c for _, c, s in RELEASE_ADDED_TOKENS if s and c not in ("<|endoftext|>", "<|im_end|>")],
        "bos_token": None,
        "chat_template": QWEN25VL_CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 131072,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }, indent=2) + "\n")


def _release_name(name: str) -> str:
    """A transformers-5 parameter name under the release's naming (`model.` for the language
    model, `visual.` for the vision tower)."""
    if name.startswith("model.language_model."):
        return "model." + name[len("model.language_model."):]
    if name.startswith("model.visual."):
        return "visual." + name[len("model.visual."):]
    return name


def _weights(out: Path, seed: int) -> None:
    from safetensors.torch import save_file
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    settings = copy.deepcopy({k: v for k, v in CONFIG.items() if k not in ("architectures", "torch_dtype", "transformers_version")})
    config = Qwen2_5_VLConfig(**settings)  # (it edits the dicts it is given)
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config)
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for name, param in sorted(model.state_dict().items()):
        value = param.detach()
        if value.dim() >= 2 and value.dtype.is_floating_point:  # the decisive initialisation (INIT_RANGE)
            value = torch.randn(value.shape, generator=generator) * INIT_RANGE
        tensors[_release_name(name)] = value.to(torch.bfloat16).contiguous()
    # Two shards, as a release splits its weights: the language model and vision tower, then the head.
    shards = [sorted(n for n in tensors if n != "lm_head.weight"), ["lm_head.weight"]]
    weight_map = {}
    for i, shard in enumerate(shards, start=1):
        file = f"model-{i:05d}-of-00002.safetensors"
        save_file({n: tensors[n] for n in shard}, str(out / file), metadata={"format": "pt"})
        weight_map.update({n: file for n in shard})
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    (out / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2) + "\n")


def build_release_model(out: str | Path, seed: int = 0) -> Path:
    """Write the release-layout model folder to `out` (replaced if it exists) and return it."""
    from tasks.presets import QWEN25VL_CHAT_TEMPLATE

    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "config.json").write_text(json.dumps(CONFIG, indent=2) + "\n")
    (out / "generation_config.json").write_text(json.dumps(GENERATION_CONFIG, indent=2) + "\n")
    (out / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR_CONFIG, indent=2) + "\n")
    (out / "chat_template.json").write_text(json.dumps({"chat_template": QWEN25VL_CHAT_TEMPLATE}, indent=2) + "\n")
    _tokenizer_files(out)
    _weights(out, seed)
    return out
