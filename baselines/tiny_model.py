"""The embedded default model: a tiny Qwen2.5-VL built offline, deterministically from a seed.

`build_tiny_model(out, seed)` writes a standard Hugging Face folder: weights and config
(reloadable with `AutoModelForImageTextToText`), a byte-level BPE tokenizer trained here with
`tokenizers` on text from the procedural tasks, a Qwen-style chat template, and an image-only
processor named by `processor_class` in `processor_config.json`, without an `auto_map` (the
harness loads it by class; see `harness/engine/image_only_processor.py` for why). Random init: the model is untrained until a trainer runs.

Same seed, same bytes: the fingerprint of a rebuilt model equals the first one's.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import torch

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# Qwen2.5-VL's template, images only, with `generation` markers around assistant turns so that
# trainers can compute the loss on assistant tokens alone.
CHAT_TEMPLATE = (
    "{% macro render(content) %}"
    "{% if content is string %}{{ content }}"
    "{% else %}{% for item in content %}"
    "{% if item['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% endmacro %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['role'] == 'assistant' %}"
    "{% generation %}{{ render(message['content']) }}<|im_end|>{% endgeneration %}\n"
    "{% else %}{{ render(message['content']) }}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@dataclass(frozen=True)
class TinySpec:
    """Sizes of the tiny model. head_dim = hidden / heads = 16, so mrope_section sums to 8."""

    vocab_size: int = 2048
    hidden_size: int = 64
    intermediate_size: int = 128
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    mrope_section: tuple[int, int, int] = (2, 3, 3)
    rope_theta: float = 10000.0
    vision_depth: int = 2
    vision_hidden: int = 32
    vision_heads: int = 2
    min_pixels: int = 56 * 56
    max_pixels: int = 224 * 224


def tokenizer_corpus() -> list[str]:
    """Text the tokenizer is trained on: prompts and answers of every procedural (generated)
    task in both prompt styles, plus the reasoning markup the styles ask for."""
    from tasks import TASKS, get_task

    lines = [
        "<think> </think> \\boxed{} <answer> </answer>",
        "The answer is yes no left right unanswerable 0 1 2 3 4 5 6 7 8 9 10 .5",
    ]
    procedural = sorted(name for name, cls in TASKS.items() if "n_test" in cls.defaults)
    for name in procedural:
        for style in ("cot", "direct"):
            task = get_task(f"{name}:style={style},n_test=40,n_train=0")
            for s in task.load("test"):
                for part in s.messages[0]["content"]:
                    if part["type"] == "text":
                        lines.append(part["text"])
                lines.append(str(s.target))
    return lines


@lru_cache(maxsize=4)
def _trained_tokenizer_json(vocab_size: int) -> str:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(tokenizer_corpus(), trainer)
    return tok.to_str()


def build_processor(spec: TinySpec = TinySpec()):
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from harness.engine.image_only_processor import ImageOnlyQwen2_5_VLProcessor

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(_trained_tokenizer_json(spec.vocab_size)),
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        padding_side="left",
        model_max_length=4096,
    )
    image_processor = Qwen2VLImageProcessorPil(min_pixels=spec.min_pixels, max_pixels=spec.max_pixels)
    return ImageOnlyQwen2_5_VLProcessor(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=CHAT_TEMPLATE
    )


def build_tiny_model(out: str | Path, seed: int = 0, spec: TinySpec = TinySpec()) -> Path:
    """Write the tiny model folder to `out` (replaced if it exists) and return its path."""
    from transformers import GenerationConfig, Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    out = Path(out)
    processor = build_processor(spec)
    tok = processor.tokenizer
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tok),
            hidden_size=spec.hidden_size,
            intermediate_size=spec.intermediate_size,
            num_hidden_layers=spec.num_layers,
            num_attention_heads=spec.num_heads,
            num_key_value_heads=spec.num_kv_heads,
            max_position_embeddings=4096,
            rope_parameters={"rope_type": "default", "rope_theta": spec.rope_theta, "mrope_section": list(spec.mrope_section)},
            bos_token_id=None,
            eos_token_id=ids["<|im_end|>"],
            pad_token_id=ids["<|endoftext|>"],
        ),
        vision_config=dict(
            depth=spec.vision_depth,
            hidden_size=spec.vision_hidden,
            intermediate_size=2 * spec.vision_hidden,
            num_heads=spec.vision_heads,
            out_hidden_size=spec.hidden_size,
            fullatt_block_indexes=[spec.vision_depth - 1],
            window_size=56,
        ),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"], do_sample=False
    )
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    (out / "tiny_spec.json").write_text(json.dumps({"seed": seed, **asdict(spec)}, indent=2) + "\n")
    return out


@dataclass(frozen=True)
class TinyTextSpec:
    """Sizes of the text-only sibling. head_dim = 128 / 4 = 32: vLLM's CPU attention has no
    kernel for the VL model's head_dim of 16."""

    hidden_size: int = 128
    intermediate_size: int = 256
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    # Random weights at the usual 0.02 give near-flat next-token distributions, where kernels of
    # two engines that differ in the last float bits pick different tokens; wider weights give
    # decisive logits, so greedy text compares engines rather than rounding.
    initializer_range: float = 0.2


def build_tiny_text_model(out: str | Path, seed: int = 0, spec: TinyTextSpec = TinyTextSpec()) -> Path:
    """Write a tiny text-only Qwen2 model (`Qwen2ForCausalLM`) with the VL model's tokenizer and
    chat template to `out` (replaced if it exists): the model every backend, vLLM's CPU build
    included, can load. Random init; same seed, same bytes."""
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    out = Path(out)
    tok = build_processor().tokenizer
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    config = Qwen2Config(
        vocab_size=len(tok), hidden_size=spec.hidden_size, intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_layers, num_attention_heads=spec.num_heads, num_key_value_heads=spec.num_kv_heads,
        max_position_embeddings=4096, bos_token_id=None, eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
        tie_word_embeddings=False, initializer_range=spec.initializer_range,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).eval()
    model.generation_config = GenerationConfig(eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"], do_sample=False)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    model.save_pretrained(out)
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(out)
    (out / "tiny_spec.json").write_text(json.dumps({"seed": seed, "text_only": True, **asdict(spec)}, indent=2) + "\n")
    return out
