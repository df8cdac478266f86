"""pathvqa: PathVQA pathology questions, yes/no or short text. Paper A's stage 6.

Hub `flaviagiammarino/path-vqa` (splits train / validation / test; test has 6,719 items, as in
the release), fields relied on: `image`, `question`, `answer`. Sample id: the row's index.
Prompt in the `direct` style, as in the release (`path-vqa_test.json`): "<image>" + the trimmed
question + "\\n" + "Answer the question using a single word or phrase." (no newline after the
image). In the RFT styles (`paper`, `no_cot`) "<image>" + the question as the hub has it, then the
style's format prompt: Paper A's EasyR1 runs read `flaviagiammarino/path-vqa` with
`data.prompt_key=question`, for training (`EasyR1/examples/6_pathvqa.sh`, `nocot_6_pathvqa.sh`)
and for evaluation (`EasyR1/examples/test.sh`, `data.val_files=flaviagiammarino/path-vqa@test`),
and EasyR1 puts `<image>` in front of a prompt without one; from the release file the
short-answer line is dropped for them (`tasks.release`).
"""

from __future__ import annotations

from tasks.base import Sample
from tasks.prompts import IMAGE_PLACEHOLDER, SHORT_ANSWER, prompt_turn
from tasks.release import ReleaseTask


class PathVQA(ReleaseTask):
    name = "pathvqa"
    version = "5"
    description = "Paper A CPT stage 6: PathVQA; yes/no or short text"
    hub_id = "flaviagiammarino/path-vqa"
    hub_splits = {"test": "test", "train": "train"}
    hub_columns = ("question", "answer")
    rft_drops_short_answer = True

    def from_hub_row(self, row, index, image):
        question = row["question"]
        text = question if self.rft_style() else f"{question.strip()}\n{SHORT_ANSWER}"
        return Sample(str(index), prompt_turn(IMAGE_PLACEHOLDER + text), str(row["answer"]), [image("image")])
