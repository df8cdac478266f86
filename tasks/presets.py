"""Named evaluation presets: every setting of a published evaluation, in one place, each value
with the line of the reference code it comes from.

`paper-a`: how Paper A (arXiv 2507.05386) scores a checkpoint, read from its code,
laisong-22004009/RFTvsSFT at commit 6ea0eeac115125888c90f91fb08ecbe6fd724371 (E = `EasyR1/`):
every checkpoint is run by EasyR1 in `val_only` mode (`E/examples/test.sh`, config
`E/examples/test.yaml`) on vLLM, one sample per item over the whole file, and scored by
`E/examples/reward_function/math.py`. The CPT tasks' `paper` and `no_cot` styles and the `paper` /
`no_cot` styles of `mmmu`, `mmlu_pro` and `pope` follow it (see `PAPER_A.sources`); the `direct`
style (what LLaMA-Factory SFT stages are trained and evaluated on) keeps greedy decoding with
LLaMA-Factory's image bounds (`LLAMAFACTORY_IMAGE_BOUNDS`).

Over-long prompts: EasyR1 drops a row when `len(processor.apply_chat_template(messages,
add_generation_prompt=True))` exceeds `max_prompt_length` (6,144; `E/verl/utils/dataset.py`
lines 164-169). With the processor of a Qwen2.5-VL checkpoint under the transformers EasyR1 pins
(4.51.3, `E/requirements.txt`), `apply_chat_template` returns the templated *string* (its
`tokenize` defaults to False), so the bound counts characters of the prompt as the chat template
renders it, each image being `<|vision_start|><|image_pad|><|vision_end|>`. The harness renders
with Qwen2.5-VL-7B-Instruct's released chat template (`QWEN25VL_CHAT_TEMPLATE`), so the dropped
items depend on the data alone and `harness check` can verify them; results list them under the
skip reason `prompt_too_long`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Qwen/Qwen2.5-VL-7B-Instruct's `chat_template.json`, verbatim (the same string transformers'
# processor tests use for Qwen2-VL: huggingface/transformers
# `tests/models/qwen2_vl/test_processing_qwen2_vl.py`, `prepare_processor_dict`). With no system
# turn it adds "You are a helpful assistant."; an image part renders as the three vision tokens.
QWEN25VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or "
    "'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture "
    "{{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' "
    "or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video "
    "{{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}"
    "{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}"
    "<|im_start|>assistant\n{% endif %}"
)

# LLaMA-Factory's evaluation of SFT stages (`LLaMA-Factory/examples/mllm_cl/val.yaml` line 3:
# image_max_pixels 4,194,304; `image_min_pixels` left at its default 32 x 32,
# `LLaMA-Factory/src/llamafactory/hparams/model_args.py` lines 217-220).
LLAMAFACTORY_IMAGE_BOUNDS = (1024, 4194304)


@dataclass(frozen=True)
class EvalPreset:
    name: str
    temperature: float
    top_p: float
    top_k: int  # -1: off
    repetition_penalty: float
    max_new_tokens: int
    min_pixels: int
    max_pixels: int
    max_prompt_chars: int
    chat_template: str
    general: tuple[str, ...] = ()  # general benchmarks with this preset's styles
    general_style: str = ""  # their style under this preset, when a spec names none
    sources: dict[str, str] = field(default_factory=dict)  # setting -> where it comes from

    def describe(self) -> dict[str, Any]:
        """The values and their sources, as results record them."""
        values = {k: getattr(self, k) for k in (
            "temperature", "top_p", "top_k", "repetition_penalty", "max_new_tokens", "min_pixels", "max_pixels",
            "max_prompt_chars")}
        return {"name": self.name, "values": values, "sources": dict(self.sources)}


PAPER_A = EvalPreset(
    name="paper-a",
    temperature=0.5,
    top_p=0.99,
    top_k=-1,
    repetition_penalty=1.0,
    max_new_tokens=1024,
    min_pixels=262144,
    max_pixels=4194304,
    max_prompt_chars=6144,
    chat_template=QWEN25VL_CHAT_TEMPLATE,
    general=("mmmu", "mmlu_pro", "pope"),
    general_style="paper",
    sources={
        "engine": "E/examples/test.sh (python3 -m verl.trainer.main config=examples/test.yaml, worker.actor.fsdp.torch_dtype=bf16); "
                  "E/examples/test.yaml line 93 (trainer.val_only: true); E/verl/workers/rollout/vllm_rollout_spmd.py lines 69-88 (vLLM)",
        "temperature": "E/examples/test.yaml line 63 (worker.rollout.val_override_config.temperature: 0.5)",
        "samples per item": "E/examples/test.yaml line 64 (val_override_config.n: 1); E/verl/trainer/data_loader.py line 77 (shuffle=False): every item once",
        "top_p": "E/examples/test.yaml line 56 (worker.rollout.top_p: 0.99; val_override_config leaves it)",
        "top_k": "E/verl/workers/rollout/config.py line 28 (top_k: int = -1, not set by test.yaml): off",
        "repetition_penalty": "E/verl/workers/rollout/vllm_rollout_spmd.py lines 93-104 (SamplingParams from the rollout config, which has none): vLLM's 1.0",
        "max_new_tokens": "E/examples/test.yaml line 9 (data.max_response_length: 1024 -> SamplingParams.max_tokens, vllm_rollout_spmd.py line 94)",
        "seed": "E/verl/workers/rollout/config.py line 29 (seed: 1, the engine's): one random stream for the whole run; "
                "here every item has its own seed, from --seed, the task and the item id, so a response never depends on its batch",
        "min_pixels": "E/examples/test.yaml line 17 (data.min_pixels: 262144), applied by E/verl/utils/dataset.py lines 68-71",
        "max_pixels": "E/examples/test.yaml line 16 (data.max_pixels: 4194304), applied by E/verl/utils/dataset.py lines 63-66",
        "max_prompt_chars": "E/examples/test.yaml lines 8 and 18 (max_prompt_length: 6144, filter_overlong_prompts: true); "
                            "E/verl/utils/dataset.py lines 164-169 (characters of the templated prompt, see tasks/presets.py)",
        "prompt": "E/verl/utils/dataset.py lines 138-162 (_build_messages): <image> prefixed when absent, the format prompt "
                  "rendered around the row's prompt_key text, split at <image>; the checkpoint's own chat template with its default system prompt",
        "format prompt (cot)": "E/examples/test.yaml line 12 (examples/format_prompt/math_format.jinja)",
        "format prompt (no_cot)": "E/examples/test.sh, the NOCOT_* runs (data.format_prompt=./examples/format_prompt/no_cot.jinja)",
        "score (cot)": "E/examples/test.yaml line 81 (reward_function/math.py:compute_score; its accuracy term is the column)",
        "score (no_cot)": "E/examples/test.sh, the NOCOT_* runs (worker.reward.reward_function=./examples/reward_function/math.py:no_cot)",
        "response text": "E/verl/workers/reward/config.py line 28 (skip_special_tokens: true when decoding the response)",
        "not reproduced": "E/verl/workers/rollout/vllm_rollout_spmd.py lines 41-47 and 96 bias <|image_pad|> by -100 while sampling; "
                          "the harness does not (a response holding that token is decoded without it either way)",
    },
)

PRESETS: dict[str, EvalPreset] = {PAPER_A.name: PAPER_A}


def render_prompt(messages: list[dict[str, Any]], chat_template: str) -> str:
    """The prompt a chat template makes of `messages`, with the generation prompt, rendered by
    transformers' own Jinja renderer (as `apply_chat_template` renders it)."""
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered, _ = render_jinja_template([messages], chat_template=chat_template, add_generation_prompt=True)
    return rendered[0]
