"""docvqa: DocVQA, questions about scanned documents; ANLS. One of Paper B's prior-knowledge probes.

Hub `lmms-lab/DocVQA` (config `DocVQA`; splits train / validation / test, the test split without
answers), the copy lmms-eval reads; our `test` is the hub's validation (5,349 questions), as
lmms-eval's `docvqa_val`. Fields relied on: `questionId`, `question`, `answers` (the annotators'
answers), `image`; `question_types` and `docId` are kept in the sample's meta when present.
Sample id: `questionId`.

Prompt (style `standard`, lmms-eval's `docvqa` default: `_default_template_docvqa_yaml` and
`utils.py:docvqa_doc_to_text` in EvolvingLMMs-Lab/lmms-eval, at 0ad7b14f and 008ddc83): the image, then `{question}\\n` +
"Answer the question using a single word or phrase."; greedy, 128 new tokens. Style `cot` ends
with Paper A's think/boxed instruction instead and reads the answer from the last `\\boxed{}`
(none: ANLS 0, invalid). Styles `paper` / `no_cot`: Paper A's EasyR1 prompt built from the question
("<image>" in front), as for `pope`; `official` reads the last box in `paper`, and protocol `paper`
is Paper A's rule against the first gold answer (its rule takes one gold).

Protocol `official`: ANLS with the 0.5 threshold as lmms-eval computes it (`anls` in
`lmms_eval/api/metrics.py`, EvolvingLMMs-Lab/lmms-eval at 008ddc83c2b57ccbd1457714c5a54c8f03896e9d,
taken from Qwen-VL's `eval_mm/infographicsvqa_eval.py`, the DocVQA challenge's formula): for each
gold answer, both strings are stripped, lower-cased and their whitespace runs collapsed to one
space; the distance is the Levenshtein distance of the two normalised strings divided by the
longer of the two *unnormalised* strings, upper-cased (`len(answer.upper())`,
`len(prediction.upper())`; 0 when both are empty); the score is 1 minus the smallest such
distance over the gold answers, set to 0 below 0.5. The response is the whole generated text.
The invalid rate beside the score is ours and changes no score: an empty (all-whitespace) response
is invalid.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tasks.base import GenerationContract, Sample, Score
from tasks.errors import HarnessError
from tasks.extract import format_think_boxed, last_boxed
from tasks.hubtask import HubTask
from tasks.prompts import IMAGE_PLACEHOLDER, SHORT_ANSWER, user_turn, with_cot
from tasks.release import PaperAGeneral, preset_contract

ANLS_THRESHOLD = 0.5


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions of one character each), in
    O(len(a) * len(b)) time and O(min) memory."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(previous[j - 1] if ca == cb else 1 + min(previous[j - 1], previous[j], current[-1]))
        previous = current
    return previous[-1]


def anls(prediction: str, answers: list[str]) -> float:
    """ANLS of one prediction against its gold answers, lmms-eval's rule (module docstring).

    A gold answer whose normalised length differs from the prediction's by more than half the
    denominator cannot reach the threshold (the distance is at least the length difference), so
    it is skipped without computing the distance: the score is unchanged and a long response
    costs time linear in its length."""
    if not answers:
        return 0.0
    said = " ".join(prediction.strip().lower().split())
    best = None
    for answer in answers:
        gold = " ".join(answer.strip().lower().split())
        length = max(len(answer.upper()), len(prediction.upper()))
        if length == 0:
            value = 0.0
        elif abs(len(gold) - len(said)) > ANLS_THRESHOLD * length:
            value = 1.0  # above the threshold's distance whatever the exact value: scores 0 below
        else:
            value = levenshtein(gold, said) / length
        best = value if best is None else min(best, value)
    result = 1 - best
    return 0.0 if result < ANLS_THRESHOLD else result


class DocVQA(PaperAGeneral, HubTask):
    name = "docvqa"
    version = "1"
    description = "DocVQA val (Paper B's document-reading probe): short answers; ANLS"
    metric = "anls"
    hub_id = "lmms-lab/DocVQA"
    hub_config = "DocVQA"
    hub_splits = {"test": "validation"}
    hub_columns = ("questionId", "question", "answers")
    sources = ("hub", "dataset folder", "parquet")
    prompt_styles = ("standard", "cot", "paper", "no_cot")
    protocols = ("official", "paper")
    defaults: ClassVar[dict[str, Any]] = {"style": "standard", **HubTask.defaults}

    def from_hub_row(self, row, index, image):
        answers = [str(a) for a in (row["answers"] or [])]
        if not answers:
            raise ValueError("no answers (the hub's test split has none: use validation)")
        meta: dict[str, Any] = {"answers": answers}
        for key in ("question_types", "docId"):
            if row.get(key) is not None:
                meta[key] = row[key]
        if self.rft_style():
            messages = self.paper_turn(IMAGE_PLACEHOLDER + str(row["question"]), True)
        else:
            text = with_cot(row["question"]) if self.style == "cot" else f"{row['question']}\n{SHORT_ANSWER}"
            messages = user_turn(text, 1)
        return Sample(str(row["questionId"]), messages, answers[0], [image("image")], meta)

    def default_contract(self) -> GenerationContract:
        if self.rft_style():
            return preset_contract(self.preset)
        return GenerationContract(max_new_tokens=1024 if self.style == "cot" else 128)

    def check_protocol(self, protocol: str, samples: list[Sample]) -> None:
        super().check_protocol(protocol, samples)
        bare = [s.id for s in samples if not s.meta.get("answers")]
        if bare:
            raise HarnessError(f"docvqa: {len(bare)} samples carry no gold answers (first: id {bare[0]})")

    def score(self, response: str, sample: Sample) -> Score:
        fmt = 1.0 if format_think_boxed(response) else 0.0
        said = last_boxed(response) if self.style in ("cot", "paper") else response
        if said is None or not said.strip():
            return Score(0.0, None, False, {"acc": 0.0, "anls": 0.0, "fmt": fmt})
        value = anls(said, [str(a) for a in sample.meta.get("answers") or [sample.target]])
        return Score(value, said.strip()[:200], True, {"acc": value, "anls": value, "fmt": fmt})
