"""mmstar: MMStar, 1,500 vision-indispensable multiple-choice questions in 6 categories of 3
subcategories each; one of Paper B's prior-knowledge probes.

Hub `Lin-Chen/MMStar` (config `val`, split `val`), the copy lmms-eval reads; our `test` is that
split. Fields relied on: `index`, `question` (the options are in it: "Options: A: ..., B: ..."),
`answer` (the option's letter), `category`, `l2_category`, `image`. Sample id: `index`.

Prompt (style `standard`, lmms-eval's `mmstar`: `mmstar.yaml` and `utils.py:mmstar_doc_to_text` in
EvolvingLMMs-Lab/lmms-eval at a455120a8ebb7ba325b5b81de28bdf1da9356597): the image, then the question
stripped, followed by "\\nAnswer with the option's letter from the given choices directly" (no full
stop, as written there); greedy; 32 new tokens (mmstar.yaml sets none; the answer is a letter).
Styles `paper` / `no_cot`: Paper A's EasyR1 prompt from the question as written ("<image>" in
front), as for `pope`; `official` reads the last `\\boxed{}` in `paper` (none: wrong, invalid).

Protocol `official`: MMStar's release, `MMStar_eval` in `eval/vlmeval/evaluate/mmstar.py`
(MMStar-Benchmark/MMStar at 79e6d1cbab00576162fc8c878a4ad584f98b4868; lmms-eval's `exact_match`
is the same rule): gold and response are lower-cased, stripped, line breaks turned into spaces;
right when the gold equals the response's first character, or its second after "(", or its
eighth after "option ", or its fifteenth after "the answer is " (anything else, an empty response
too, is wrong). The invalid rate is ours and changes no score: a response is invalid when the
character the rule reads (the second after "(", the eighth after "option ", the fifteenth after
"the answer is ", else the first) is not a letter a-z. Summary metrics: accuracy per category and
per subcategory over the scored questions (MMStar divides by 250 per category and 1,500 overall, the
full set's counts).
"""

from __future__ import annotations

from typing import Any, ClassVar

from tasks.base import GenerationContract, Sample, Score
from tasks.extract import last_boxed
from tasks.hubtask import HubTask
from tasks.prompts import IMAGE_PLACEHOLDER, user_turn
from tasks.release import PaperAGeneral, preset_contract

CATEGORIES: dict[str, tuple[str, ...]] = {
    "coarse perception": ("image scene and topic", "image style & quality", "image emotion"),
    "fine-grained perception": ("object counting", "recognition", "localization"),
    "instance reasoning": ("single-instance reasoning", "cross-instance attribute reasoning", "cross-instance relation reasoning"),
    "logical reasoning": ("code & sequence reasoning", "diagram reasoning", "common reasoning"),
    "science & technology": ("biology & chemistry & physics", "electronics & energy & mechanical eng.", "geography & earth science & agriculture"),
    "math": ("geometry", "numeric commonsense and calculation", "statistical reasoning"),
}
SUBCATEGORIES = tuple(sub for subs in CATEGORIES.values() for sub in subs)
LETTER_ONLY = "\nAnswer with the option's letter from the given choices directly"  # lmms-eval's post_prompt


def mmstar_official(response: str, gold: str) -> bool:
    """Whether MMStar's rule counts the response right (module docstring)."""
    answer = gold.lower().strip().replace("\n", " ")
    predict = response.lower().strip().replace("\n", " ")
    checks = ((0, ""), (1, "("), (7, "option "), (14, "the answer is "))
    return any(len(predict) > at and predict.startswith(prefix) and predict[at] == answer for at, prefix in checks)


def mmstar_read(response: str) -> str | None:
    """The character MMStar's rule compares with the gold (None for an empty response)."""
    predict = response.lower().strip().replace("\n", " ")
    for at, prefix in ((1, "("), (7, "option "), (14, "the answer is ")):
        if predict.startswith(prefix) and len(predict) > at:
            return predict[at]
    return predict[0] if predict else None


class MMStar(PaperAGeneral, HubTask):
    name = "mmstar"
    version = "1"
    description = "MMStar (Paper B's probe): 4-option multiple choice in 6 categories; accuracy"
    metric = "accuracy (per category in summary)"
    hub_id = "Lin-Chen/MMStar"
    hub_config = "val"
    hub_splits = {"test": "val"}
    hub_columns = ("index", "question", "answer", "category", "l2_category")
    sources = ("hub", "dataset folder", "parquet")
    prompt_styles = ("standard", "paper", "no_cot")
    protocols = ("official", "paper")
    defaults: ClassVar[dict[str, Any]] = {"style": "standard", **HubTask.defaults}

    def from_hub_row(self, row, index, image):
        if row["category"] not in CATEGORIES or row["l2_category"] not in CATEGORIES[row["category"]]:
            raise ValueError(f"unknown category {row['category']!r} / {row['l2_category']!r}")
        answer = str(row["answer"]).strip()
        question = str(row["question"])
        if self.rft_style():
            messages = self.paper_turn(IMAGE_PLACEHOLDER + question, True)
        else:
            messages = user_turn(question.strip() + LETTER_ONLY, 1)
        meta = {"category": row["category"], "l2_category": row["l2_category"]}
        return Sample(str(row["index"]), messages, answer, [image("image")], meta)

    def default_contract(self) -> GenerationContract:
        return preset_contract(self.preset) if self.rft_style() else GenerationContract(max_new_tokens=32)

    def _parts(self, acc: float, sample: Sample) -> dict[str, float]:
        return {"acc": acc, "subcategory": float(SUBCATEGORIES.index(sample.meta["l2_category"]))}

    def score(self, response: str, sample: Sample) -> Score:
        text = last_boxed(response) if self.style == "paper" else response
        if text is None:
            return Score(0.0, None, False, self._parts(0.0, sample))
        acc = 1.0 if mmstar_official(text, str(sample.target)) else 0.0
        read = mmstar_read(text)
        return Score(acc, read, read is not None and "a" <= read <= "z", self._parts(acc, sample))

    def score_paper(self, response: str, sample: Sample) -> Score:
        score = super().score_paper(response, sample)
        return Score(score.value, score.extracted, score.valid, {**score.parts, **self._parts(score.parts.get("acc", score.value), sample)})

    def summary_metrics(self, scores: list[Score]) -> dict[str, float]:
        """Accuracy (%) per category and per subcategory."""
        by_sub: dict[str, list[float]] = {}
        for s in scores:
            if "subcategory" in s.parts:
                by_sub.setdefault(SUBCATEGORIES[int(s.parts["subcategory"])], []).append(s.parts.get("acc", s.value))
        out: dict[str, float] = {}
        for category, subs in CATEGORIES.items():
            values = [a for sub in subs for a in by_sub.get(sub, [])]
            if values:
                out[category] = 100.0 * sum(values) / len(values)
            for sub in subs:
                if by_sub.get(sub):
                    out[f"{category} ({sub})"] = 100.0 * sum(by_sub[sub]) / len(by_sub[sub])
        return out
