"""textvqa: TextVQA validation, OCR tokens in the prompt, short text answers. Paper A's stage 2.

Hub `lmms-lab/textvqa` (splits train / validation / test; our `test` is the hub's validation,
5,000 items, as in the release), fields relied on: `question_id`, `question`, `ocr_tokens`
(list), `answers` (the ten human answers), `image`. Sample id: `question_id`. Prompt, as in the
release: "<image>\\n" + `{question}\\nReference OCR token:{tokens joined by ","}\\n` + "Answer the
question using a single word or phrase."; gold: the most common human answer (`tasks.vqa.most_common_answer`),
with all ten kept in `meta["answers"]` for the `official` protocol (the VQA accuracy of
`tasks.vqa`, to the letter of the official code). The release's JSON carries one answer only,
and the official formula needs the other annotators: `official` refuses such data up front
(score it with `paper`).
"""

from __future__ import annotations

from tasks.base import Sample
from tasks.errors import HarnessError
from tasks.prompts import IMAGE_PLACEHOLDER, SHORT_ANSWER, prompt_turn
from tasks.release import ReleaseTask
from tasks.vqa import most_common_answer, vqa_soft_accuracy


class VQATask(ReleaseTask):
    """A CPT task scored with VQA soft accuracy under `official` when the ten answers exist."""

    protocols = ("paper", "official")

    def check_protocol(self, protocol: str, samples: list[Sample]) -> None:
        if protocol != "official":
            return
        single = [s.id for s in samples if not (isinstance(s.meta.get("answers"), list) and len(s.meta["answers"]) >= 2)]
        if single:
            raise HarnessError(
                f"{self.name}: the official VQA accuracy needs the human answers, but {len(single)} of {len(samples)} "
                f"samples carry fewer than two (first: id {single[0]}; the release JSON has one); "
                "use the hub data, or score with --protocol paper"
            )

    def official_accuracy(self, answer: str, sample: Sample) -> float:
        return vqa_soft_accuracy(answer, [str(a) for a in sample.meta.get("answers") or []])


class TextVQA(VQATask):
    name = "textvqa"
    version = "4"
    description = "Paper A CPT stage 2: TextVQA val with OCR tokens; short text"
    hub_id = "lmms-lab/textvqa"
    hub_splits = {"test": "validation", "train": "train"}
    hub_columns = ("question_id", "question", "ocr_tokens", "answers")

    def from_hub_row(self, row, index, image):
        text = f"{IMAGE_PLACEHOLDER}\n{row['question'].strip()}\nReference OCR token:{','.join(row['ocr_tokens'] or [])}\n{SHORT_ANSWER}"
        answers = list(row["answers"])
        return Sample(str(row["question_id"]), prompt_turn(text), most_common_answer(answers), [image("image")], {"answers": answers})
