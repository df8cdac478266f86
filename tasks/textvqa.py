"""textvqa: TextVQA validation, OCR tokens in the prompt, short text answers. Paper A's stage 2.

Hub `lmms-lab/textvqa` (splits train / validation / test; our `test` is the hub's validation,
5,000 items, as in the release), fields relied on: `question_id`, `question`, `ocr_tokens`
(list), `answers` (the ten human answers), `image`. Sample id: `question_id`. Prompt, as in the
release: `{question}\\nReference OCR token:{tokens joined by ","}\\n` + "Answer the question using a
single word or phrase."; gold: the most common human answer (`tasks.vqa.most_common_answer`),
with all ten kept in `meta["answers"]` for the `official` protocol (VQA soft accuracy). The
release's JSON carries one answer only; there `official` is exact match after VQA
normalisation.
"""

from __future__ import annotations

from tasks.base import Sample
from tasks.prompts import SHORT_ANSWER, user_turn
from tasks.release import ReleaseTask
from tasks.vqa import most_common_answer, vqa_normalize, vqa_soft_accuracy


class VQATask(ReleaseTask):
    """A CPT task scored with VQA soft accuracy under `official` when the ten answers exist."""

    protocols = ("paper", "official")

    def official_accuracy(self, answer: str, sample: Sample) -> float:
        answers = sample.meta.get("answers")
        if isinstance(answers, list) and len(answers) >= 2:
            return vqa_soft_accuracy(answer, [str(a) for a in answers])
        return 1.0 if vqa_normalize(answer) == vqa_normalize(str(sample.target)) else 0.0


class TextVQA(VQATask):
    name = "textvqa"
    version = "2"
    description = "Paper A CPT stage 2: TextVQA val with OCR tokens; short text"
    hub_id = "lmms-lab/textvqa"
    hub_splits = {"test": "validation", "train": "train"}
    hub_columns = ("question_id", "question", "ocr_tokens", "answers")

    def from_hub_row(self, row, index, image):
        text = f"{row['question'].strip()}\nReference OCR token:{','.join(row['ocr_tokens'] or [])}\n{SHORT_ANSWER}"
        answers = list(row["answers"])
        return Sample(str(row["question_id"]), user_turn(text, 1), most_common_answer(answers), [image("image")], {"answers": answers})
