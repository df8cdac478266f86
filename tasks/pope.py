"""pope: POPE object-hallucination probe, yes/no questions about COCO images; accuracy and F1.
Paper A's code evaluates it; Paper B reports its change under RFT and SFT.

Hub `lmms-lab/POPE`, config `default`, split `test` (9,000 questions: 3,000 each of the
`adversarial`, `popular` and `random` samplings); fields relied on: `question_id`, `question`,
`answer` ("yes" | "no"), `image`, `category`. Parameter `category=all|adversarial|popular|random`
picks a sampling. Sample id: `question_id`.

Prompt (style `standard`, lmms-eval's wording): `{question}\\n` + "Answer the question using a
single word or phrase."; style `cot` appends Paper A's think/boxed instruction and the answer is
read from the last `\\boxed{}` (none: invalid).

Protocol `official`, POPE's rule without its default: the text up to the first "." is split
into words (commas removed, case ignored); "no" or "not" among them means no, else "yes" among
them means yes, else the answer is invalid (POPE's script calls every such response "yes").
Summary metrics (`summary_metrics`), in percent, "yes" being the positive class: precision,
recall, F1 and the yes-ratio; an invalid answer is a prediction of neither, so it counts as a
false negative when the gold is "yes".
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.errors import HarnessError
from tasks.base import GenerationContract, Sample, Score
from tasks.extract import last_boxed
from tasks.hubtask import HubTask
from tasks.prompts import SHORT_ANSWER, user_turn, with_cot

CATEGORIES = ("adversarial", "popular", "random")


def pope_answer(text: str) -> str | None:
    """"yes", "no" or None by POPE's rule (module docstring), without the default to "yes"."""
    first = text.split(".", 1)[0].replace(",", "")
    words = first.lower().split()
    if "no" in words or "not" in words:
        return "no"
    if "yes" in words:
        return "yes"
    return None


class POPE(HubTask):
    name = "pope"
    version = "1"
    description = "POPE object hallucination: yes/no; accuracy and F1"
    metric = "accuracy (F1 in summary)"
    hub_id = "lmms-lab/POPE"
    hub_config = "default"
    hub_splits = {"test": "test"}
    hub_columns = ("question_id", "question", "answer", "category")
    sources = ("hub", "dataset folder", "parquet")
    prompt_styles = ("standard", "cot")
    protocols = ("official",)
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
        return Sample(str(row["question_id"]), user_turn(text, 1), answer, [image("image")], {"category": row["category"]})

    def contract(self) -> GenerationContract:
        return GenerationContract(max_new_tokens=1024 if self.style == "cot" else 16)

    def score(self, response: str, sample: Sample) -> Score:
        text = last_boxed(response) if self.style == "cot" else response
        said = pope_answer(text) if text is not None else None
        acc = 1.0 if said == sample.target else 0.0
        return Score(acc, said, said is not None, {"acc": acc, "said_yes": float(said == "yes"), "gold_yes": float(sample.target == "yes")})

    def summary_metrics(self, scores: list[Score]) -> dict[str, float]:
        tp = sum(1 for s in scores if s.parts.get("said_yes") and s.parts.get("gold_yes"))
        fp = sum(1 for s in scores if s.parts.get("said_yes") and not s.parts.get("gold_yes"))
        fn = sum(1 for s in scores if not s.parts.get("said_yes") and s.parts.get("gold_yes"))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        yes_ratio = (tp + fp) / len(scores) if scores else 0.0
        return {"precision": 100 * precision, "recall": 100 * recall, "f1": 100 * f1, "yes_ratio": 100 * yes_ratio}
