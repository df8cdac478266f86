"""pope: POPE object-hallucination probe, yes/no questions about COCO images; accuracy and F1.
Paper A's code evaluates it; Paper B reports its change under RFT and SFT.

Hub `lmms-lab/POPE`, config `default`, split `test` (9,000 questions: 3,000 each of the
`adversarial`, `popular` and `random` samplings); fields relied on: `question_id`, `question`,
`answer` ("yes" | "no"), `image`, `category`, and `id` when present. Parameter
`category=all|adversarial|popular|random` picks a sampling. Sample id: the hub's `id` when the
table has one, else `{category}-{question_id}` (`question_id` restarts within each category in
the original POPE files, so it alone is not unique under `category=all`).

Prompt (style `standard`, lmms-eval's wording): `{question}\\n` + "Answer the question using a
single word or phrase."; style `cot` appends Paper A's think/boxed instruction and the answer is
read from the last `\\boxed{}` (none: invalid).

Protocol `official`: POPE's own rule, to the letter. Reference: AoiDragon/POPE `evaluate.py` at
its head, commit 08d957b917e5a378a2f99d35b6293c536a66298b (2025-08-21), unchanged since the
repository's first commit f3ec6043 (2023-05-31). The text before the first "." is kept, commas
are removed, and it is split on single spaces (`split(' ')`, so "no\\n" or "No," are other
words); if "No", "no" or "not" is one of the words the answer is "no", otherwise "yes" (POPE
has no invalid answer: everything else, an empty response too, counts as "yes"). Accuracy,
precision, recall, F1 and the yes-ratio are computed from those answers, "yes" being the
positive class. The invalid rate beside the score is ours and changes no score: a response is
invalid when the reference reached "yes" without seeing a "yes" (any case) among the words.

Protocol `strict` (ours, not POPE's): the same first sentence, commas removed, lower-cased and
split on any whitespace; "no" or "not" means no, else "yes" means yes, else the answer is invalid
(wrong, and a prediction of neither class in the summary metrics).
Styles `cot` (ours) and `paper` apply either rule to the last `\\boxed{}` content; a response
without one is wrong and invalid (and a prediction of neither class in the summary metrics).
Style `no_cot` applies them to the whole response.

Styles `paper` and `no_cot`: Paper A's evaluation (`tasks.presets.PAPER_A`): `EasyR1/examples/
test.sh` runs `test.yaml` on `lmms-lab/POPE@test` with `data.prompt_key=question`,
`data.image_key=image`, so the prompt is "<image>" + the hub's question as written (EasyR1 puts
the placeholder in front), rendered with `math_format.jinja` (COT_* runs) or `no_cot.jinja`
(NOCOT_* runs); gold: the `answer` column ("yes" / "no"). Protocol `paper` (the default there):
`math.py:compute_score`'s accuracy (mathruler on the last box) or `math.py:no_cot`; the summary
metrics count a response as "yes" when mathruler grades its answer equal to "yes".
"""

from __future__ import annotations

from typing import Any, ClassVar

from tasks.base import GenerationContract, Sample, Score
from tasks.errors import HarnessError
from tasks.extract import last_boxed
from tasks.hubtask import HubTask
from tasks.prompts import IMAGE_PLACEHOLDER, SHORT_ANSWER, user_turn, with_cot
from tasks.release import MAX_GRADED_CHARS, PaperAGeneral, preset_contract

CATEGORIES = ("adversarial", "popular", "random")


def pope_official(text: str) -> tuple[str, bool]:
    """("yes" | "no", whether the words held an explicit answer) by POPE's own rule."""
    if text.find(".") != -1:
        text = text.split(".")[0]
    words = text.replace(",", "").split(" ")
    if "No" in words or "not" in words or "no" in words:
        return "no", True
    return "yes", any(w.lower() == "yes" for w in words)


def pope_answer(text: str) -> str | None:
    """"yes", "no" or None by the `strict` rule (module docstring)."""
    first = text.split(".", 1)[0].replace(",", "")
    words = first.lower().split()
    if "no" in words or "not" in words:
        return "no"
    if "yes" in words:
        return "yes"
    return None


class POPE(PaperAGeneral, HubTask):
    name = "pope"
    version = "3"
    description = "POPE object hallucination: yes/no; accuracy and F1"
    metric = "accuracy (F1 in summary)"
    hub_id = "lmms-lab/POPE"
    hub_config = "default"
    hub_splits = {"test": "test"}
    hub_columns = ("question_id", "question", "answer", "category")
    sources = ("hub", "dataset folder", "parquet")
    prompt_styles = ("standard", "cot", "paper", "no_cot")
    protocols = ("official", "strict", "paper")
    defaults: ClassVar[dict[str, Any]] = {"style": "standard", "category": "all", **HubTask.defaults}

    def validate(self) -> None:
        if self.params["category"] not in ("all", *CATEGORIES):
            raise HarnessError(f"pope: unknown category {self.params['category']!r} (all, {', '.join(CATEGORIES)})")

    def from_hub_row(self, row, index, image):
        if self.params["category"] != "all" and row["category"] != self.params["category"]:
            return None
        answer = str(row["answer"]).strip().lower()
        if answer not in ("yes", "no"):
            raise ValueError(f"answer {row['answer']!r} is not yes/no")
        sid = str(row["id"]) if row.get("id") is not None else f"{row['category']}-{row['question_id']}"
        meta = {"category": row["category"], "question_id": row["question_id"]}
        if self.rft_style():
            return Sample(sid, self.paper_turn(IMAGE_PLACEHOLDER + row["question"], True), answer, [image("image")], meta)
        text = f"{row['question'].strip()}\n{SHORT_ANSWER}"
        if self.style == "cot":
            text = with_cot(text)
        return Sample(sid, user_turn(text, 1), answer, [image("image")], meta)

    def default_contract(self) -> GenerationContract:
        if self.rft_style():
            return preset_contract(self.preset)
        return GenerationContract(max_new_tokens=1024 if self.style == "cot" else 16)

    def _answer_text(self, response: str) -> str | None:
        """What the yes/no rules read: the last box's content in the think/boxed styles (None
        without one), else the whole response."""
        return last_boxed(response) if self.style in ("cot", "paper") else response

    def score(self, response: str, sample: Sample) -> Score:
        text = self._answer_text(response)
        if text is None:
            return self._score(None, False, sample)
        said, explicit = pope_official(text)
        return self._score(said, explicit, sample)

    def score_strict(self, response: str, sample: Sample) -> Score:
        text = self._answer_text(response)
        said = pope_answer(text) if text is not None else None
        return self._score(said, said is not None, sample)

    def score_paper(self, response: str, sample: Sample) -> Score:
        from mathruler.grader import grade_answer

        score = super().score_paper(response, sample)
        try:
            said_yes = score.extracted is not None and len(score.extracted) <= MAX_GRADED_CHARS and bool(grade_answer(score.extracted, "yes"))
        except Exception:  # mathruler's sympy path can raise on odd input (as in tasks.release)
            said_yes = False
        parts = {**score.parts, "said_yes": float(said_yes), "gold_yes": float(sample.target == "yes")}
        return Score(score.value, score.extracted, score.valid, parts)

    @staticmethod
    def _score(said: str | None, valid: bool, sample: Sample) -> Score:
        acc = 1.0 if said == sample.target else 0.0
        return Score(acc, said, valid, {"acc": acc, "said_yes": float(said == "yes"), "gold_yes": float(sample.target == "yes")})

    def summary_metrics(self, scores: list[Score]) -> dict[str, float]:
        tp = sum(1 for s in scores if s.parts.get("said_yes") and s.parts.get("gold_yes"))
        fp = sum(1 for s in scores if s.parts.get("said_yes") and not s.parts.get("gold_yes"))
        fn = sum(1 for s in scores if not s.parts.get("said_yes") and s.parts.get("gold_yes"))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        yes_ratio = (tp + fp) / len(scores) if scores else 0.0
        return {"precision": 100 * precision, "recall": 100 * recall, "f1": 100 * f1, "yes_ratio": 100 * yes_ratio}
