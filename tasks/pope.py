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
commit f3ec604337f1d1c9723ef8d01b4accacf8badb3d. The text before the first "." is kept, commas
are removed, and it is split on single spaces (`split(' ')`, so "no\\n" or "No," are other
words); if "No", "no" or "not" is one of the words the answer is "no", otherwise "yes" (POPE
has no invalid answer: everything else, an empty response too, counts as "yes"). Accuracy,
precision, recall, F1 and the yes-ratio are computed from those answers, "yes" being the
positive class. The invalid rate beside the score is ours and changes no score: a response is
invalid when the reference reached "yes" without seeing a "yes" (any case) among the words.

Protocol `strict` (ours, not POPE's): the same first sentence, commas removed, lower-cased and
split on any whitespace; "no" or "not" means no, else "yes" means yes, else the answer is invalid
(wrong, and a prediction of neither class in the summary metrics).
Style `cot` (ours) applies either rule to the last `\\boxed{}` content; a response without one
is scored on its whole text and counted invalid.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tasks.base import GenerationContract, Sample, Score
from tasks.errors import HarnessError
from tasks.extract import last_boxed
from tasks.hubtask import HubTask
from tasks.prompts import SHORT_ANSWER, user_turn, with_cot

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


class POPE(HubTask):
    name = "pope"
    version = "2"
    description = "POPE object hallucination: yes/no; accuracy and F1"
    metric = "accuracy (F1 in summary)"
    hub_id = "lmms-lab/POPE"
    hub_config = "default"
    hub_splits = {"test": "test"}
    hub_columns = ("question_id", "question", "answer", "category")
    sources = ("hub", "dataset folder", "parquet")
    prompt_styles = ("standard", "cot")
    protocols = ("official", "strict")
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
        text = f"{row['question'].strip()}\n{SHORT_ANSWER}"
        if self.style == "cot":
            text = with_cot(text)
        sid = str(row["id"]) if row.get("id") is not None else f"{row['category']}-{row['question_id']}"
        return Sample(sid, user_turn(text, 1), answer, [image("image")], {"category": row["category"], "question_id": row["question_id"]})

    def contract(self) -> GenerationContract:
        return GenerationContract(max_new_tokens=1024 if self.style == "cot" else 16)

    def _answer_text(self, response: str) -> tuple[str, bool]:
        if self.style != "cot":
            return response, True
        boxed = last_boxed(response)
        return (response, False) if boxed is None else (boxed, True)

    def score(self, response: str, sample: Sample) -> Score:
        text, boxed_ok = self._answer_text(response)
        said, explicit = pope_official(text)
        return self._score(said, explicit and boxed_ok, sample)

    def score_strict(self, response: str, sample: Sample) -> Score:
        text, boxed_ok = self._answer_text(response)
        said = pope_answer(text) if boxed_ok else None
        return self._score(said, said is not None, sample)

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
