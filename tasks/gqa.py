"""gqa: GQA balanced questions, short answers. Paper A's stage 4 (its test file is missing from
the release).

Hub `lmms-lab/GQA` keeps questions and images in separate configs: `{split}_balanced_instructions`
(fields relied on: `id`, `imageId`, `question`, `answer`) and `{split}_balanced_images` (`id`,
`image`), joined on `imageId`. Our `test` is `testdev` (12,578 questions), `train` is `train`.
A local copy must hold both configs (a folder laid out like the hub repository); a single
parquet/arrow file in the instructions schema is read with its images from `image_root`
(`{imageId}.jpg`). Sample id: the question `id`. Prompt, as in the release (its GQA items in
`all_data_test.json`): "<image>\\n" + `{question}\\n` + "Answer the question using a single word or
phrase.".

Protocol `official`: GQA has no single official rule, so this one is ours, stated against the
three in use: the answer and the gold are compared after trimming surrounding whitespace,
lower-casing and dropping one trailing period (then trailing whitespace).
- GQA's own `eval.py` compares the prediction string with the gold as written: " yes", "Yes"
  and "yes." are wrong there, right here.
- LLaVA's GQA conversion strips trailing periods and lower-cases the prediction only: it also
  accepts "yes.." (ours does not) and rejects " yes" (ours accepts).
- lmms-eval's GQA task scores exact match ignoring case and all punctuation: it also accepts
  "yes!" or "t-shirt" for "tshirt" (ours does not).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tasks.base import Sample
from tasks.errors import HarnessError
from tasks.prompts import IMAGE_PLACEHOLDER, SHORT_ANSWER, prompt_turn
from tasks.release import ReleaseTask
from tasks.sources import LazyImage, image_table, require_columns, text_rows


class GQA(ReleaseTask):
    name = "gqa"
    version = "4"
    description = "Paper A CPT stage 4: GQA balanced questions; short answers"
    hub_id = "lmms-lab/GQA"
    hub_splits = {"test": "testdev", "train": "train"}
    hub_columns = ("id", "imageId", "question", "answer")
    protocols = ("paper", "official")

    def table_samples(self, data: str, kind: str, split: str) -> list[Sample]:
        hub_split = self.hub_splits[split]
        questions = self.open_table(data, kind, hub_split, f"{hub_split}_balanced_instructions")
        require_columns(questions, list(self.hub_columns), data, "lmms-lab/GQA instructions")
        if kind == "table":  # one file: the instructions only; images from image_root
            root = Path(self.params["image_root"] or Path(data).parent)
            return [self._sample(row, root / f"{row['imageId']}.jpg") for row in text_rows(questions, [])]
        pictures = self.open_table(data, kind, hub_split, f"{hub_split}_balanced_images")
        require_columns(pictures, ["id", "image"], data, "lmms-lab/GQA images")
        row_of = {image_id: i for i, image_id in enumerate(pictures["id"])}
        lazy = image_table(pictures, ["image"])
        samples = []
        for row in text_rows(questions, []):
            if row["imageId"] not in row_of:
                raise HarnessError(f"{data}: question {row['id']}: image {row['imageId']!r} is not in the images config")
            samples.append(self._sample(row, LazyImage(lazy, row_of[row["imageId"]], "image")))
        return samples

    @staticmethod
    def _sample(row: dict[str, Any], picture: Any) -> Sample:
        text = f"{IMAGE_PLACEHOLDER}\n{row['question'].strip()}\n{SHORT_ANSWER}"
        return Sample(str(row["id"]), prompt_turn(text), str(row["answer"]), [picture], {"image_id": row["imageId"]})
