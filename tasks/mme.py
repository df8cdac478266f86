"""mme: MME, yes/no questions in pairs (two per image) over 14 subtasks; Paper B's perception /
cognition probe.

Hub `lmms-lab/MME` (config `default`, split `test`, 2,374 questions), the copy lmms-eval reads;
fields relied on: `question_id` (the image's path, shared by its two questions), `question`,
`answer` ("Yes" | "No"), `category` (the subtask), `image`. Sample id: `question_id` + "#" + the
question's place within its image (0 or 1).

Prompt (style `standard`, lmms-eval's `mme` default: `mme.yaml` and `utils.py:mme_doc_to_text` in
EvolvingLMMs-Lab/lmms-eval at a455120a8ebb7ba325b5b81de28bdf1da9356597): the image, then the question
stripped, without its " Please answer yes or no.", followed by "\\nAnswer the question using a single
word or phrase."; greedy, 16 new tokens. Styles `paper` / `no_cot`: Paper A's EasyR1 prompt built
from the hub's question as written ("<image>" in front), as for `pope`; the yes/no rules below read
the last `\\boxed{}` in `paper` (none: wrong, invalid).

Protocol `official`: MME's released evaluation tool, `eval_tool/calculation.py` in
BradyFU/Awesome-Multimodal-Large-Language-Models (`tools/eval_tool.zip`, commit
1c1d69e138b57cf8b0400427927bfb8ed4285458, 2023-07-01). The tool reads one line per question, so a
response enters it with its line breaks deleted (its readme asks for that; tabs, which would break
the line's fields, are deleted too); it is lower-cased, not stripped; "yes" or "no" as the whole
answer is that answer, otherwise "yes" among its first four characters means yes, else "no" among
them means no, else the answer is "other" (wrong; invalid here). Per subtask: accuracy over the
questions and accuracy+ (images with both questions right) in percent, score = accuracy +
accuracy+; perception = the sum of the 10 perception subtasks' scores (at most 2,000), cognition
of the 4 cognition subtasks' (at most 800). The matrix column is the per-question accuracy; the
sums are summary metrics beside it (`summary_metrics`), over the images whose two questions are
both scored (a `--limit` can cut a pair: such images count for accuracy, not accuracy+).

Protocol `lmms_eval`: lmms-eval's reading (`utils.py:parse_pred_ans`, same commit): lower-cased,
stripped, "." removed; "yes" / "no" as the whole answer, "y" / "n" alone, else the first four
characters as above.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tasks.base import GenerationContract, Sample, Score
from tasks.extract import last_boxed
from tasks.hubtask import HubTask
from tasks.prompts import IMAGE_PLACEHOLDER, SHORT_ANSWER, user_turn
from tasks.release import PaperAGeneral, preset_contract

PERCEPTION = ("existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark", "artwork", "OCR")
COGNITION = ("commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning")
SUBTASKS = PERCEPTION + COGNITION
YES_NO_SUFFIX = " Please answer yes or no."  # lmms-eval's `replace_prompt`


def _first_four(said: str) -> str:
    """The reading both rules end with: "yes" among the first four characters, else "no" among
    them, else "other"."""
    prefix = said[:4]
    return "yes" if "yes" in prefix else "no" if "no" in prefix else "other"


def mme_official(response: str) -> str:
    """"yes", "no" or "other" by MME's `calculation.py` (module docstring)."""
    said = response.replace("\r", "").replace("\n", "").replace("\t", "").lower()
    return said if said in ("yes", "no") else _first_four(said)


def mme_lmms_eval(response: str) -> str:
    """"yes", "no" or "other" by lmms-eval's `parse_pred_ans` (module docstring)."""
    said = response.lower().strip().replace(".", "")
    if said in ("yes", "no"):
        return said
    if len(said) == 1:
        return {"y": "yes", "n": "no"}.get(said, "other")
    return _first_four(said)


class MME(PaperAGeneral, HubTask):
    name = "mme"
    version = "1"
    description = "MME (Paper B's probe): yes/no pairs over 14 subtasks; accuracy, MME's perception / cognition sums"
    metric = "accuracy (MME scores in summary)"
    hub_id = "lmms-lab/MME"
    hub_config = "default"
    hub_splits = {"test": "test"}
    hub_columns = ("question_id", "question", "answer", "category")
    sources = ("hub", "dataset folder", "parquet")
    prompt_styles = ("standard", "paper", "no_cot")
    protocols = ("official", "lmms_eval", "paper")
    defaults: ClassVar[dict[str, Any]] = {"style": "standard", **HubTask.defaults}

    def load(self, split: str) -> list[Sample]:
        self._pairs: dict[str, int] = {}  # question_id -> its image's number, in order of first appearance
        self._asked: dict[str, int] = {}  # question_id -> questions of that image read so far
        return super().load(split)

    def from_hub_row(self, row, index, image):
        answer = str(row["answer"]).strip().lower()
        if answer not in ("yes", "no"):
            raise ValueError(f"answer {row['answer']!r} is not yes/no")
        if row["category"] not in SUBTASKS:
            raise ValueError(f"unknown category {row['category']!r}")
        qid = str(row["question_id"])
        pairs, asked = self.__dict__.setdefault("_pairs", {}), self.__dict__.setdefault("_asked", {})  # reset by `load`
        pair = pairs.setdefault(qid, len(pairs))
        place = asked.get(qid, 0)
        asked[qid] = place + 1
        meta = {"category": row["category"], "question_id": qid, "pair": pair}
        question = str(row["question"])
        if self.rft_style():
            messages = self.paper_turn(IMAGE_PLACEHOLDER + question, True)
        else:
            messages = user_turn(f"{question.strip().replace(YES_NO_SUFFIX, '')}\n{SHORT_ANSWER}", 1)
        return Sample(f"{qid}#{place}", messages, answer, [image("image")], meta)

    def default_contract(self) -> GenerationContract:
        return preset_contract(self.preset) if self.rft_style() else GenerationContract(max_new_tokens=16)

    def _answer_text(self, response: str) -> str | None:
        return last_boxed(response) if self.style == "paper" else response

    @staticmethod
    def _place(sample: Sample) -> dict[str, float]:
        """The score parts `summary_metrics` groups by: the subtask and the image (pair) number."""
        return {"subtask": float(SUBTASKS.index(sample.meta["category"])), "pair": float(sample.meta["pair"])}

    def _score(self, said: str | None, sample: Sample) -> Score:
        acc = 1.0 if said == sample.target else 0.0
        return Score(acc, said, said in ("yes", "no"), {"acc": acc, **self._place(sample)})

    def score(self, response: str, sample: Sample) -> Score:
        text = self._answer_text(response)
        return self._score(None if text is None else mme_official(text), sample)

    def score_lmms_eval(self, response: str, sample: Sample) -> Score:
        text = self._answer_text(response)
        return self._score(None if text is None else mme_lmms_eval(text), sample)

    def score_paper(self, response: str, sample: Sample) -> Score:
        score = super().score_paper(response, sample)
        return Score(score.value, score.extracted, score.valid, {**score.parts, **self._place(sample)})

    def summary_metrics(self, scores: list[Score]) -> dict[str, float]:
        """Per subtask accuracy, accuracy+ and score (MME's), and the perception / cognition sums."""
        by_subtask: dict[int, dict[int, list[float]]] = {}
        for s in scores:
            if "subtask" in s.parts:
                pairs = by_subtask.setdefault(int(s.parts["subtask"]), {})
                pairs.setdefault(int(s.parts["pair"]), []).append(s.parts.get("acc", s.value))
        out: dict[str, float] = {}
        totals = {"perception": 0.0, "cognition": 0.0}
        for k in sorted(by_subtask):
            answers = [a for pair in by_subtask[k].values() for a in pair]
            whole = [pair for pair in by_subtask[k].values() if len(pair) == 2]
            acc = 100.0 * sum(answers) / len(answers)
            acc_plus = 100.0 * sum(1 for pair in whole if sum(pair) == 2) / len(whole) if whole else 0.0
            name = SUBTASKS[k]
            out[f"{name}_acc"], out[f"{name}_acc_plus"], out[f"{name}_score"] = acc, acc_plus, acc + acc_plus
            totals["perception" if name in PERCEPTION else "cognition"] += acc + acc_plus
        if out:
            out["perception_score"], out["cognition_score"] = totals["perception"], totals["cognition"]
        return out
