"""Prompt text shared by tasks, as the papers' released code words it, and how Paper A's code
turns a prompt string into the user turn a model receives.

Paper A's prompts are strings with `<image>` placeholders (the release's LLaMA-Factory JSON, the
`problem` column of EasyR1 parquet, hub columns such as Geometry3K's `problem`). Both of its
frameworks keep the text around a placeholder exactly as written: EasyR1 splits the string at
`<image>` (`split_at_images`), LLaMA-Factory's Qwen2-VL plugin replaces each placeholder by the
image tokens in place, so "<image>\\nWhat is…" reaches the model with its newline after the image.
"""

from __future__ import annotations

from typing import Any

IMAGE_PLACEHOLDER = "<image>"

# Paper A's RFT format (EasyR1's `examples/format_prompt/math_format.jinja`): appended to the
# trimmed prompt after one space.
THINK_BOXED_INSTRUCTION = (
    "You FIRST think about the reasoning process as an internal monologue and then provide the "
    "final answer. The reasoning process MUST BE enclosed within <think> </think> tags. "
    "The final answer MUST BE put in \\boxed{}."
)

# Paper A's no-CoT ablation (EasyR1's `examples/format_prompt/no_cot.jinja`).
NO_COT_INSTRUCTION = "You MUST provide the final answer directly."

# The release's short-answer instructions (LLaMA-Factory test files of Paper A).
SHORT_ANSWER = "Answer the question using a single word or phrase."
OPTION_LETTER = "Answer with the option's letter from the given choices directly."
UNANSWERABLE = "When the provided information is insufficient, respond with 'Unanswerable'."

# Paper B's jigsaw answer format.
THINK_ANSWER_INSTRUCTION = (
    "First think about the reasoning process inside <think> </think> tags, then give the final "
    "answer inside <answer> </answer> tags."
)


def with_cot(text: str) -> str:
    """The text followed by Paper A's think/boxed instruction: `math_format.jinja` renders
    `{{ content | trim }} <instruction>`, and jinja's `trim` is Python's `str.strip()`."""
    return text.strip() + " " + THINK_BOXED_INSTRUCTION


def with_no_cot(text: str) -> str:
    """The text followed by the no-CoT instruction, rendered as `no_cot.jinja` renders it."""
    return text.strip() + " " + NO_COT_INSTRUCTION


def user_turn(text: str, n_images: int) -> list[dict]:
    """One user message: the images first, in order, then the text (the toy tasks' layout)."""
    parts: list[dict] = [{"type": "image"} for _ in range(n_images)]
    parts.append({"type": "text", "text": text})
    return [{"role": "user", "content": parts}]


def split_at_images(prompt: str) -> list[dict[str, Any]]:
    """The content parts of a prompt string, as EasyR1's `RLHFDataset._build_messages` makes them
    (laisong-22004009/RFTvsSFT @ 6ea0eeac, `EasyR1/verl/utils/dataset.py` lines 150-160): the
    string is split at `<image>`; an image part stands between two pieces; a piece becomes a text
    part exactly as written (a lone newline too) unless it is empty."""
    parts: list[dict[str, Any]] = []
    for i, piece in enumerate(prompt.split(IMAGE_PLACEHOLDER)):
        if i:
            parts.append({"type": "image"})
        if piece:
            parts.append({"type": "text", "text": piece})
    return parts


def prompt_turn(prompt: str) -> list[dict[str, Any]]:
    """One user message holding a prompt string's parts (`split_at_images`)."""
    return [{"role": "user", "content": split_at_images(prompt)}]


def join_parts(parts: list[dict[str, Any]]) -> str:
    """The prompt string of content parts (`split_at_images` backwards)."""
    return "".join(IMAGE_PLACEHOLDER if p["type"] == "image" else p["text"] for p in parts)


def easyr1_prompt(prompt: str, has_images: bool, instruction: str | None) -> str:
    """What `_build_messages` makes of a row's prompt string before splitting it (dataset.py lines
    139-148): `<image>` prefixed when the row has images and the prompt no placeholder, then the
    format prompt rendered around the whole string (`instruction` None: no format prompt)."""
    if has_images and IMAGE_PLACEHOLDER not in prompt:
        prompt = IMAGE_PLACEHOLDER + prompt
    return prompt.strip() + " " + instruction if instruction else prompt


def easyr1_turn(prompt: str, has_images: bool, instruction: str | None) -> list[dict[str, Any]]:
    """The user turn EasyR1 builds from a row's prompt string (`easyr1_prompt`, then
    `split_at_images`; a row without images keeps one text part)."""
    text = easyr1_prompt(prompt, has_images, instruction)
    parts = split_at_images(text) if has_images else [{"type": "text", "text": text}]
    return [{"role": "user", "content": parts}]
