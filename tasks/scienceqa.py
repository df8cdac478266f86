"""scienceqa: ScienceQA, image subset (LLaVA/CoIN format), answered with an option letter.
Paper A's stage 1.

Hub `derek-thomas/ScienceQA` (splits train / validation / test), fields relied on: `image`
(null for text-only questions, which are outside this task and left out), `question`, `choices`
(list of option texts), `answer` (index of the right choice), `hint` (context text, may be
empty). Sample id: the row's index in the hub split. Prompt, as in the release:
"<image>\\n" + `{hint}\\n{question}\\nA. …\\nB. …\\n` + "Answer with the option's letter from the
given choices directly."; gold: the option letter. Paper A's EasyR1 parquet holds the same strings:
its notebook (`dataset_download_and_format_demo/dataproc.ipynb`, cell 1) writes the test problem as
`'<image>\\n' + item['text'].replace('Context: ','')` and the training problem as the LLaVA
conversation's first turn. The test split's image subset has 2,017 items, as the release file
does. On the train split the hint reads `Context: {hint}`, as in the release's training file
(`LLaMA-Factory/data/ScienceQA_train.json`: 3,944 of its 6,218 items carry the prefix, the test
file none) and the notebook's training parquet.
"""

from __future__ import annotations

from tasks.base import Sample
from tasks.prompts import IMAGE_PLACEHOLDER, OPTION_LETTER, prompt_turn
from tasks.release import ReleaseTask

LETTERS = "ABCDEFGHIJ"


class ScienceQA(ReleaseTask):
    name = "scienceqa"
    version = "5"
    description = "Paper A CPT stage 1: ScienceQA image subset; option letter"
    hub_id = "derek-thomas/ScienceQA"
    hub_splits = {"test": "test", "train": "train"}
    hub_columns = ("question", "choices", "answer", "hint")

    def from_hub_row(self, row, index, image):
        picture = image("image")
        if picture.is_null():
            return None
        options = [f"{LETTERS[i]}. {c}" for i, c in enumerate(row["choices"])]
        hint = (row["hint"] or "").strip()
        if hint and getattr(self, "split", "test") == "train":
            hint = "Context: " + hint
        lines = ([hint] if hint else []) + [row["question"].strip(), *options, OPTION_LETTER]
        meta = {k: row[k] for k in ("subject", "grade", "category") if k in row}
        return Sample(str(index), prompt_turn(IMAGE_PLACEHOLDER + "\n" + "\n".join(lines)), LETTERS[int(row["answer"])], [picture], meta)
