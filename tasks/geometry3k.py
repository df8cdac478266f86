"""geometry3k: Geometry3K, answered with a number or expression. Paper A's stage 5.

Hub `hiyouga/geometry3k` (splits train / validation / test; test has 601 items, as in the
release), already in EasyR1's schema: `problem` (with one `<image>` placeholder), `answer`,
`images` (list). Sample id: the row's index. Prompt, as in the release: `{problem}\\n` + "Answer
the question using a single word or phrase." (the placeholder becomes the image part). A single
parquet file with these columns is read as EasyR1 data, whose `problem` is the whole user text.
Training prompts of the RFT styles (`paper`, `no_cot`) on the hub's train split are the problem
alone, then the style's instruction: Paper A's RFT stage reads `hiyouga/geometry3k@train` with its
`problem` column (`EasyR1/examples/nokl_5_geo.sh`, `nocot_5_geo.sh`); its SFT file `geo_train.json`
has the short-answer line, as `direct` keeps.
"""

from __future__ import annotations

from tasks.base import Sample
from tasks.prompts import SHORT_ANSWER
from tasks.release import ReleaseTask
from tasks.sources import IMAGE_PLACEHOLDER, user_parts


class Geometry3K(ReleaseTask):
    name = "geometry3k"
    version = "4"
    description = "Paper A CPT stage 5: Geometry3K; number or expression"
    hub_id = "hiyouga/geometry3k"
    hub_splits = {"test": "test", "train": "train"}
    hub_columns = ("problem", "answer")
    image_columns = ("images",)

    def from_hub_row(self, row, index, image):
        problem = row["problem"]
        if IMAGE_PLACEHOLDER not in problem:
            problem = IMAGE_PLACEHOLDER + problem
        refs = [image("images", k) for k in range(problem.count(IMAGE_PLACEHOLDER))]
        # As written: the release does not trim problems.
        text = problem if self.rft_training_prompt() else f"{problem}\n{SHORT_ANSWER}"
        return Sample(str(index), [{"role": "user", "content": user_parts(text)}], str(row["answer"]), refs)
