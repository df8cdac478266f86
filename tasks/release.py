"""What Paper A's seven CPT tasks share: their sources, the three prompt styles, the evaluation
settings of each style and the `paper` and `official` scoring protocols.

Sources: see `tasks/hubtask.py` (hub id, local copy, parquet, the release's LLaMA-Factory JSON,
EasyR1 parquet). Every source yields the release's prompt string for an item: its `<image>`
placeholders and text exactly as the release's LLaMA-Factory JSON and EasyR1's parquet hold them
(ScienceQA, TextVQA, VizWiz, GQA and Super-CLEVR: "<image>\\n…"; Geometry3K and PathVQA:
"<image>…" with no newline); a hub row is worded the same way.

Prompt styles, each rendered as the code that evaluates it renders the prompt string
(`tasks.prompts`):
- `paper` (default): Paper A's RFT evaluation, EasyR1's `_build_messages` with
  `math_format.jinja`: the trimmed prompt, one space, the think/boxed instruction; split at
  `<image>` with every text piece kept as written. Geometry3K and PathVQA drop the release's
  trailing short-answer line: Paper A's EasyR1 runs read their hub rows (`problem`, `question`),
  which have none (`EasyR1/examples/test.sh`: `hiyouga/geometry3k@test`, `flaviagiammarino/
  path-vqa@test` with `data.prompt_key=question`).
- `no_cot`: the same with `no_cot.jinja` (" You MUST provide the final answer directly."), Paper
  A's "GRPO w/o CoT" runs and its NOCOT evaluations.
- `direct`: the release's prompt alone, as LLaMA-Factory trains and evaluates SFT stages on it
  (its Qwen2-VL plugin puts the image tokens in place of `<image>`, the text around it kept).
Evaluation settings: `paper` and `no_cot` follow the `paper-a` preset (`tasks.presets.PAPER_A`:
temperature 0.5, top_p 0.99, 1,024 new tokens, images bounded to [262,144, 4,194,304] pixels
EasyR1's way, prompts over 6,144 characters left out); `direct` decodes greedily, up to 64 new
tokens, with LLaMA-Factory's image bounds [1,024, 4,194,304] (`LLAMAFACTORY_IMAGE_BOUNDS`).

Protocol `paper`, exactly Paper A's reward code (EasyR1 `reward_function/math.py` with the PyPI
package `mathruler`):
1. whitespace around `<`, `>` and `/` is removed from the response (`\\s*(<|>|/)\\s*` -> `\\1`,
   computed in linear time by `tasks.extract.strip_markup_whitespace`, same result); both rules
   below see the result;
2. format = 1 if it fully matches `<think>.*</think>.*\\boxed\\{.*\\}.*` (dot matches newline);
3. accuracy = 1 if `mathruler.grader.grade_answer(extract_boxed_content(r), gold)`.
   `extract_boxed_content` reads the *last* `\\boxed{` only and returns the string "None" when
   it is absent or unclosed; that string is graded like any answer (so gold "None" would match an
   unboxed response, as in the paper's code). `valid` is False when no closed box was found.
   One deliberate difference: an extracted answer longer than `MAX_GRADED_CHARS` (2,000) is
   graded wrong without calling mathruler, which can spend tens of seconds normalising a
   megabyte answer. The longest gold answer in the paper's release has 166 characters, so only
   answers over ten times that long are affected.
In the `direct` and `no_cot` styles, protocol `paper` is Paper A's `no_cot` reward instead
(`no_cot` in EasyR1 `examples/reward_function/math.py`, laisong-22004009/RFTvsSFT at commit
6ea0eeac115125888c90f91fb08ecbe6fd724371): the same whitespace rule, then accuracy =
`grade_answer(response.strip(), gold.strip())` on the whole response, no format term. A direct
answer "B" to gold "B" is right; "\\boxed{B}" is graded as written (mathruler's own rules). `valid`
is False only for an empty response. The same 2,000-character guard applies.
Reward for training: 0.9 * accuracy + 0.1 * format (`paper` style), accuracy alone (`direct`,
`no_cot`), in both cases built from these scores (`Task.reward_of`).

Protocol `official` (tasks that list it), the dataset's own metric: the answer is the last
balanced `\\boxed{}` content in the `paper` style (none: invalid, 0) and the whole response in the
`direct` style; `official_accuracy` compares it with the gold answer(s). The default here is
case-insensitive exact match after trimming whitespace and one trailing period (GQA's rule);
TextVQA and VizWiz override it with VQA soft accuracy when the sample carries the human answers.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from tasks.base import GenerationContract, Sample, Score
from tasks.errors import HarnessError
from tasks.extract import format_think_boxed, last_boxed, rollout_filter_answer, strip_markup_whitespace
from tasks.hubtask import HubTask
from tasks.presets import LLAMAFACTORY_IMAGE_BOUNDS, PAPER_A, EvalPreset
from tasks.prompts import NO_COT_INSTRUCTION, SHORT_ANSWER, THINK_BOXED_INSTRUCTION, easyr1_turn, join_parts

# mathruler's LaTeX-to-text step logs a warning for every odd macro it meets; scores are unaffected.
logging.getLogger("pylatexenc").setLevel(logging.ERROR)

MAX_GRADED_CHARS = 2000


def paper_score(response: str, gold: str) -> Score:
    """Paper A's format and accuracy rules (see the module docstring)."""
    from mathruler.grader import extract_boxed_content, grade_answer

    r = strip_markup_whitespace(response)
    fmt = 1.0 if format_think_boxed(r, cleaned=True) else 0.0
    boxed = extract_boxed_content(r)
    try:
        acc = 1.0 if len(boxed) <= MAX_GRADED_CHARS and grade_answer(boxed, gold) else 0.0
    except Exception:  # mathruler's sympy path can raise on odd input; the paper's run would crash
        acc = 0.0
    found = _closed_last_box(r)
    return Score(acc, boxed if found else None, found, {"acc": acc, "fmt": fmt})


def no_cot_score(response: str, gold: str) -> Score:
    """Paper A's `no_cot` rule (see the module docstring)."""
    from mathruler.grader import grade_answer

    r = strip_markup_whitespace(response).strip()
    try:
        acc = 1.0 if len(r) <= MAX_GRADED_CHARS and grade_answer(r, gold.strip()) else 0.0
    except Exception:  # as in paper_score
        acc = 0.0
    return Score(acc, r or None, bool(r), {"acc": acc, "fmt": 0.0})


def _closed_last_box(text: str) -> bool:
    start = text.rfind("\\boxed{")
    if start == -1:
        return False
    depth = 0
    for ch in text[start + len("\\boxed{") :]:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == -1:
                return True
    return False


RFT_STYLES = ("paper", "no_cot")  # the styles Paper A evaluates with EasyR1


def preset_contract(preset: EvalPreset) -> GenerationContract:
    """The generation contract of an evaluation preset."""
    return GenerationContract(
        max_new_tokens=preset.max_new_tokens, temperature=preset.temperature, top_p=preset.top_p, top_k=preset.top_k,
        repetition_penalty=preset.repetition_penalty, min_pixels=preset.min_pixels, max_pixels=preset.max_pixels,
    )


def rft_turn(prompt: str, has_images: bool, style: str) -> list[dict[str, Any]]:
    """The user turn EasyR1 builds from a prompt string in an RFT style (`paper`: math_format,
    `no_cot`: no_cot format prompt)."""
    return easyr1_turn(prompt, has_images, THINK_BOXED_INSTRUCTION if style == "paper" else NO_COT_INSTRUCTION)


class PaperAGeneral:
    """Paper A's evaluation of a general benchmark (mixed into `mmmu`, `mmlu_pro`, `pope`): styles
    `paper` and `no_cot` build the row's prompt string as Paper A's copy of the benchmark presents
    it (`paper_prompt`, each task's docstring says where that is documented), render it as EasyR1
    does, follow the `paper-a` preset and default to the `paper` protocol: `paper_score` in the
    `paper` style, `no_cot_score` in `no_cot` (`EasyR1/examples/test.sh`: the COT_* runs use
    `test.yaml`'s `math.py:compute_score`, the NOCOT_* runs `no_cot.jinja` with `math.py:no_cot`).
    The protocol `paper` scores only these styles."""

    style: str | None
    protocols: tuple[str, ...]
    name: str

    def rft_style(self) -> bool:
        return self.style in RFT_STYLES

    @property
    def preset(self) -> EvalPreset | None:
        return PAPER_A if self.rft_style() else None

    def default_protocol(self) -> str:
        return "paper" if self.rft_style() else self.protocols[0]

    def available_protocols(self) -> tuple[str, ...]:
        return self.protocols if self.rft_style() else tuple(p for p in self.protocols if p != "paper")

    def check_protocol(self, protocol: str, samples: list[Sample]) -> None:
        if protocol == "paper" and not self.rft_style():
            raise HarnessError(f"{self.name}: protocol paper scores Paper A's prompts; use {self.name}:style=paper (or no_cot)")

    def paper_turn(self, prompt: str, has_images: bool) -> list[dict[str, Any]]:
        return rft_turn(prompt, has_images, str(self.style))

    def score_paper(self, response: str, sample: Sample) -> Score:
        gold = str(sample.target)
        return paper_score(response, gold) if self.style == "paper" else no_cot_score(response, gold)


class ReleaseTask(HubTask):
    """Base of the seven CPT tasks: HubTask's sources plus `style` (`paper` | `direct` | `no_cot`)."""

    prompt_styles: ClassVar[tuple[str, ...]] = ("paper", "direct", "no_cot")
    protocols: ClassVar[tuple[str, ...]] = ("paper",)
    defaults: ClassVar[dict[str, Any]] = {"style": "paper", **HubTask.defaults}
    rft_drops_short_answer: ClassVar[bool] = False  # Geometry3K, PathVQA: see the module docstring

    @property
    def preset(self) -> EvalPreset | None:
        return PAPER_A if self.style in RFT_STYLES else None

    def rft_style(self) -> bool:
        return self.style in RFT_STYLES

    def finish(self, samples: list[Sample], split: str) -> list[Sample]:
        if self.rft_style():
            for s in samples:
                prompt = join_parts(s.messages[0]["content"])
                if self.rft_drops_short_answer:
                    prompt = prompt.removesuffix("\n" + SHORT_ANSWER)
                s.messages = rft_turn(prompt, bool(s.images), self.style)
        return samples

    def default_contract(self) -> GenerationContract:
        if self.rft_style():
            return preset_contract(PAPER_A)
        low, high = LLAMAFACTORY_IMAGE_BOUNDS
        return GenerationContract(max_new_tokens=64, min_pixels=low, max_pixels=high)

    def score(self, response: str, sample: Sample) -> Score:
        if self.style == "paper":
            return paper_score(response, str(sample.target))
        return no_cot_score(response, str(sample.target))

    def rollout_correct(self, response: str, sample: Sample, score: Score | None = None) -> bool:
        """Paper A's `rollout_filter.py` to the letter (laisong-22004009/RFTvsSFT @ 40c53984):
        `grade_answer(answer.strip(), gold.strip())` on `tasks.extract.rollout_filter_answer`."""
        from mathruler.grader import grade_answer

        answer = rollout_filter_answer(response)
        if answer is None or len(answer) > MAX_GRADED_CHARS:
            return False
        try:
            return bool(grade_answer(answer.strip(), str(sample.target).strip()))
        except Exception:  # as in paper_score
            return False

    def score_official(self, response: str, sample: Sample) -> Score:
        answer = last_boxed(response) if self.style == "paper" else response.strip()
        if answer is None:
            return Score(0.0, None, False, {"acc": 0.0})
        acc = self.official_accuracy(answer, sample)
        return Score(acc, answer, True, {"acc": acc})

    def official_accuracy(self, answer: str, sample: Sample) -> float:
        return 1.0 if _exact_form(answer) == _exact_form(str(sample.target)) else 0.0


def _exact_form(text: str) -> str:
    text = text.strip().lower()
    return text[:-1].rstrip() if text.endswith(".") else text
