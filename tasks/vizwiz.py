"""vizwiz: VizWiz-VQA validation; "Unanswerable" allowed; short text. Paper A's stage 3.

Hub `lmms-lab/VizWiz-VQA` (splits val / test; our `test` is the hub's `val`, 4,319 items, as in
the release; the hub's `test` has no answers), fields relied on: `question_id`, `question`,
`answers` (the ten human answers), `image`. Sample id: `question_id`. Prompt, as in the release:
"<image>\\n" + `{question}\\n` + "When the provided information is insufficient, respond with 'Unanswerable'." +
`\\n` + "Answer the question using a single word or phrase." (the question as the hub has it, not
stripped: the release keeps its spaces); gold: the most common human answer after "unsuitable"
and "unsuitable image" are read as "unanswerable", as the release's golds are (0 of its 4,319
golds is "unsuitable…", 1,871 are "unanswerable");
`official` = VQA soft accuracy over the ten answers (see `tasks.textvqa.VQATask`). There is no
train split on the hub copy.
"""

from __future__ import annotations

from tasks.base import Sample
from tasks.prompts import IMAGE_PLACEHOLDER, SHORT_ANSWER, UNANSWERABLE, prompt_turn
from tasks.textvqa import VQATask
from tasks.vqa import most_common_answer


UNSUITABLE = ("unsuitable", "unsuitable image")
UNANSWERABLE_FORM = "unanswerable"


class VizWiz(VQATask):
    name = "vizwiz"
    version = "4"
    description = "Paper A CPT stage 3: VizWiz val, 'Unanswerable' allowed; short text"
    hub_id = "lmms-lab/VizWiz-VQA"
    hub_splits = {"test": "val"}
    hub_columns = ("question_id", "question", "answers")

    def from_hub_row(self, row, index, image):
        text = f"{IMAGE_PLACEHOLDER}\n{row['question']}\n{UNANSWERABLE}\n{SHORT_ANSWER}"
        answers = list(row["answers"])
        gold = most_common_answer([UNANSWERABLE_FORM if a.strip().lower() in UNSUITABLE else a for a in answers])
        return Sample(str(row["question_id"]), prompt_turn(text), gold, [image("image")], {"answers": answers})
