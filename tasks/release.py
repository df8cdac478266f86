"""What Paper A's seven CPT tasks share: their sources, the two prompt styles and the `paper`
and `official` scoring protocols.

Sources: see `tasks/hubtask.py` (hub id, local copy, parquet, the release's LLaMA-Factory JSON,
EasyR1 parquet); each task words a hub row's prompt as the release does.

Prompt styles: `paper` (default), the release's user text followed by Paper A's think/boxed
instruction (its RFT format); `direct`, the release's user text alone (what Paper A's SFT trains
on and what SFT models answer); `no_cot`, the release's user text followed by " You MUST provide
the final answer directly." (the wording of EasyR1's `examples/format_prompt/no_cot.jinja` in
Paper A's code, for its "GRPO w/o CoT" ablation; the text is trimmed first, as for `paper`).

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
from tasks.extract import format_think_boxed, last_boxed, rollout_filter_answer, strip_markup_whitespace
from tasks.hubtask import HubTask
from tasks.prompts import with_cot, with_no_cot

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


class ReleaseTask(HubTask):
    """Base of the seven CPT tasks: HubTask's sources plus `style` (`paper` | `direct`)."""

    prompt_styles: ClassVar[tuple[str, ...]] = ("paper", "direct", "no_cot")
    protocols: ClassVar[tuple[str, ...]] = ("paper",)
    defaults: ClassVar[dict[str, Any]] = {"style": "paper", **HubTask.defaults}

    def rft_training_prompt(self) -> bool:
        """Whether hub rows are being read as RFT training prompts (train split, `paper` or
        `no_cot` style): some of Paper A's RFT stages read other hub columns than its SFT files."""
        return getattr(self, "split", "test") == "train" and self.style in ("paper", "no_cot")

    def finish(self, samples: list[Sample], split: str) -> list[Sample]:
        if self.style in ("paper", "no_cot"):
            add = with_cot if self.style == "paper" else with_no_cot
            for s in samples:
                texts = [p for p in s.messages[0]["content"] if p["type"] == "text"]
                if texts:
                    texts[-1]["text"] = add(texts[-1]["text"])
        return samples

    def contract(self) -> GenerationContract:
        if self.style == "paper":  # Paper A's evaluation: one sample at temperature 0.5
            return GenerationContract(max_new_tokens=1024, temperature=0.5)
        return GenerationContract(max_new_tokens=64)

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
