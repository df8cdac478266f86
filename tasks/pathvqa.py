"""pathvqa: PathVQA pathology questions, yes/no or short text. Paper A's stage 6.

Hub `flaviagiammarino/path-vqa` (splits train / validation / test; test has 6,719 items, as in
the release), fields relied on: `image`, `question`, `answer`. Sample id: the row's index.
Prompt, as in the release: `{question}\\n` + "Answer the question using a single word or phrase."
Training prompts of the RFT styles (`paper`, `no_cot`) on the hub's train split are the question
alone, then the style's instruction: Paper A's RFT stage reads `flaviagiammarino/path-vqa@train`
with `data.prompt_key=question` (`EasyR1/examples/6_pathvqa.sh`, `nocot_6_pathvqa.sh`).
"""

from __future__ import annotations

from tasks.base import Sample
from tasks.prompts import SHORT_ANSWER, user_turn
from tasks.release import ReleaseTask


class PathVQA(ReleaseTask):
    name = "pathvqa"
    version = "4"
    description = "Paper A CPT stage 6: PathVQA; yes/no or short text"
    hub_id = "flaviagiammarino/path-vqa"
    hub_splits = {"test": "test", "train": "train"}
    hub_columns = ("question", "answer")

    def from_hub_row(self, row, index, image):
        question = row["question"].strip()
        text = question if self.rft_training_prompt() else f"{question}\n{SHORT_ANSWER}"
        return Sample(str(index), user_turn(text, 1), str(row["answer"]), [image("image")])
