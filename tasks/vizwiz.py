"""vizwiz: VizWiz-VQA validation; "Unanswerable" allowed; short text. Paper A's stage 3.

Hub `lmms-lab/VizWiz-VQA` (splits val / test; our `test` is the hub's `val`, 4,319 items, as in
the release; the hub's `test` has no answers), fields relied on: `question_id`, `question`,
`answers` (the ten human answers), `image`. Sample id: `question_id`. Prompt, as in the release:
`{question}\\n` + "When the provided information is insufficient, respond with 'Unanswerable'." +
`\\n` + "Answer the question using a single word or phrase."; gold: the most common human answer;
`official` = VQA soft accuracy over the ten answers (see `tasks.textvqa.VQATask`). There is no
train split on the hub copy.
"""

from __future__ import annotations

from tasks.base import Sample
from tasks.prompts import SHORT_ANSWER, UNANSWERABLE, user_turn
from tasks.textvqa import VQATask
from tasks.vqa import most_common_answer


class VizWiz(VQATask):
    name = "vizwiz"
    version = "3"
    description = "Paper A CPT stage 3: VizWiz val, 'Unanswerable' allowed; short text"
    hub_id = "lmms-lab/VizWiz-VQA"
    hub_splits = {"test": "val"}
    hub_columns = ("question_id", "question", "answers")

    def from_hub_row(self, row, index, image):
        text = f"{row['question'].strip()}\n{UNANSWERABLE}\n{SHORT_ANSWER}"
        answers = list(row["answers"])
        return Sample(str(row["question_id"]), user_turn(text, 1), most_common_answer(answers), [image("image")], {"answers": answers})
