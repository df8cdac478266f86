"""geometry3k: Geometry3K, answered with a number or expression. Paper A's stage 5.

Hub `hiyouga/geometry3k` (splits train / validation / test; test has 601 items, as in the
release), already in EasyR1's schema: `problem` (with one `<image>` placeholder, "<image>Find x."),
`answer`, `images` (list). Sample id: the row's index. Prompt in the `direct` style, as in the
release (`geo_test.json`): `{problem}\\n` + "Answer the question using a single word or phrase."
(the problem as the hub has it: the release does not trim problems). In the RFT styles (`paper`,
`no_cot`) the problem alone, then the style's format prompt: Paper A's EasyR1 runs read
`hiyouga/geometry3k` with its `problem` column, for training (`EasyR1/examples/nokl_5_geo.sh`,
`nocot_5_geo.sh`) and for evaluation (`EasyR1/examples/test.sh`, `data.val_files=
hiyouga/geometry3k@test`); from the release file the short-answer line is dropped for them
(`tasks.release`). A single parquet file with these columns is read as EasyR1 data, whose
`problem` is the whole prompt.
"""

from __future__ import annotations

from tasks.base import Sample
from tasks.prompts import IMAGE_PLACEHOLDER, SHORT_ANSWER, prompt_turn
from tasks.release import ReleaseTask


class Geometry3K(ReleaseTask):
    name = "geometry3k"
    version = "5"
    description = "Paper A CPT stage 5: Geometry3K; number or expression"
    hub_id = "hiyouga/geometry3k"
    hub_splits = {"test": "test", "train": "train"}
    hub_columns = ("problem", "answer")
    image_columns = ("images",)
    rft_drops_short_answer = True

    def from_hub_row(self, row, index, image):
        problem = row["problem"]
        if IMAGE_PLACEHOLDER not in problem:
            problem = IMAGE_PLACEHOLDER + problem
        refs = [image("images", k) for k in range(problem.count(IMAGE_PLACEHOLDER))]
        text = problem if self.rft_style() else f"{problem}\n{SHORT_ANSWER}"
        return Sample(str(index), prompt_turn(text), str(row["answer"]), refs)
