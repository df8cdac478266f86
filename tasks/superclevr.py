"""superclevr: Super-CLEVR questions in MathV360K style ("clevr" in Paper A's code), short text
or a number. Paper A's stage 7.

There is no hub dataset of the paper's Super-CLEVR split: load the release's LLaMA-Factory JSON
(`data=clevr_test.json`, 642 items) or an EasyR1 parquet of the same questions. Prompt, as in the
release: "<image>\\nHint: Please answer the question and provide the final answer at the end.\\n
Question: {question}\\n" + "Answer the question using a single word or phrase." Paper A evaluates its
RFT stages on an EasyR1 parquet of these questions (`EasyR1/examples/test.sh`:
`clevr/test/test_dataset.parquet`, `data.prompt_key=problem`) that the release does not include;
its problems are taken to be the release file's prompts.
"""

from __future__ import annotations

from tasks.release import ReleaseTask


class SuperCLEVR(ReleaseTask):
    name = "superclevr"
    version = "4"
    description = "Paper A CPT stage 7: Super-CLEVR (MathV360K style); short text or number"
    hub_splits = {"test": "test", "train": "train"}
    sources = ("llamafactory json", "easyr1 parquet")
