"""mmlu_pro: MMLU-Pro test (12,032 questions, up to 10 options A–J), five-shot chain of thought.
A general-capability probe (Paper A reports base vs final). Text only.

Hub `TIGER-Lab/MMLU-Pro`, splits `test` and `validation` (70 items, the few-shot pool); fields
relied on: `question_id`, `question`, `options` (list), `answer` (letter), `cot_content`
(validation: the worked answer, starting "A: Let's think step by step."), `category`. A local
copy, `save_to_disk` folder or parquet file works too; with a single file give the few-shot pool
as `fewshot_data=` (or `shots=0`). Sample id: `question_id`.

Styles `paper` and `no_cot`: Paper A's evaluation (`tasks.presets.PAPER_A`; `EasyR1/examples/
test.sh` runs `test.yaml` on `cl_datasets/MMLU-Pro/test-00000-of-00001.parquet`, `prompt_key`
`problem`, no image column, so the prompt is plain text). That parquet and the script that built
it are not in the repository (its notebook converts only ScienceQA); the closest documented form
is taken, that conversion's: the question, then "A. {option}" lines, then "Answer with the
option's letter from the given choices directly.", one newline apart, no examples; gold: the
letter. Rendered with `math_format.jinja` / `no_cot.jinja` and scored by protocol `paper` (the
default there): mathruler on the last box, or Paper A's `no_cot` rule (`tasks.release`). The
letter rules of `official` and `last_answer` read the last box's content in the `paper` style (no
box: wrong and invalid; for `last_answer` a content that is a bare letter, "A" or "(A)", is that
letter) and the whole response in `no_cot`.

Hub revision: pinned to commit b189ec765aa7ed75c8acfea42df31fdae71f97be, the repository's main
on 2026-08-11 (test 12,032 items, validation 70; an earlier test split held 12,187, and a
2026-01-18 commit removed a leading space from some options). `revision=` overrides it.

Prompt (style `standard`, as lm-eval's `mmlu_pro` words it): "The following are multiple choice
questions (with answers) about {category}. Think step by step and then finish your answer with
"the answer is (X)" where X is the correct letter choice.", then the first `shots` validation
examples of the same category, each "Question:\\n{q}\\nOptions:\\nA. …\\nAnswer: Let's think step
by step. {worked answer}", then the question in the same form ending "Answer: Let's think step
by step.". Generation stops at "Question:" (greedy, up to 2,048 tokens).

Protocol `official`: MMLU-Pro's own extraction and scoring, rule for rule, with one departure:
where MMLU-Pro draws a random option (no letter found) the answer is wrong and counted invalid.
Reference: TIGER-AI-Lab/MMLU-Pro `evaluate_from_local.py` at its head, commit
f418b116db00b065c2aea046518d8fcf74d39872 (2026-03-18; the extraction unchanged since 9dac3c3,
2024-07-14: `extract_answer` -> `extract_again` -> `extract_final`, then `save_res`).
`official_choice`, the first rule that finds a letter wins:
1. the *first* "answer is X" or "answer is (X)", X in A–J (case-sensitive "answer is" with one
   space; nothing is required after X, so "the answer is Absolutely" gives "A");
2. `.*[aA]nswer:\\s*([A-J])`: in the first line that holds "answer:" / "Answer:" followed by
   optional whitespace (newlines too) and a letter A–J, the *last* such occurrence in that line
   (the greedy `.*` cannot cross a newline, and the search starts at the earliest line);
3. `\\b[A-J]\\b(?!.*\\b[A-J]\\b)` with DOTALL: the last capital A–J standing alone between word
   boundaries anywhere in the response ("The correct option is D." gives "D"; "D. Iron 3" gives
   "D", not the "I" of "Iron"; "I think so" gives "I"; "DATA" gives nothing).
Nothing found: wrong and invalid. A letter is right when it equals the gold letter (a letter past
the question's options is simply wrong, as in MMLU-Pro). Rules 2 and 3 run in linear time here:
MMLU-Pro's patterns are quadratic (rule 2 in the length of a line without a match, rule 3 in the
number of standalone letters: 64 KB takes minutes); the code here selects the same match.
(Until 9dac3c3, rule 3 took the last capital A–J anywhere, "DATA" and "Iron" included.)

Protocol `last_answer` (ours, not MMLU-Pro's): `extract_choice`, the first rule that finds a
letter wins:
1. the *last* "answer is X" / "answer is (X)" (case-insensitive "answer is", X in A–J, not
   followed by another letter, so "the answer is Absolutely…" is no answer);
2. the last "answer: X" / "answer: (X)" (same conditions);
3. the last `\\boxed{X}` / `\\boxed{(X)}` (for models trained on the think/boxed format).
Nothing found: wrong and invalid. Why: generation stops at "Question:", so the response is the
model's own answer, and a chain of thought that revises itself ("the answer is (B)… wait… so the
answer is (D)") ends with its final choice, which MMLU-Pro's first match (and lm-eval's filter,
`answer is \\(?([ABCDEFGHIJ])\\)?` with take_first) misses; and a stray capital letter is no
answer. `bench/mmlu_pro_extraction.py` runs lm-eval's filter on the same responses and reports
where the two differ.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from tasks.base import GenerationContract, Sample, Score
from tasks.errors import HarnessError
from tasks.extract import last_boxed
from tasks.hubtask import HubTask
from tasks.prompts import OPTION_LETTER
from tasks.release import PaperAGeneral, preset_contract
from tasks.sources import detect_source, require_columns, text_rows

LETTERS = "ABCDEFGHIJ"
COT_START = "Answer: Let's think step by step."
# Bounded whitespace runs keep every pattern linear on hostile input.
_ANSWER_IS = re.compile(r"(?i:answer\s{1,3}is)\s{0,3}:?\s{0,3}\(?([A-J])\)?(?![A-Za-z])")
_ANSWER_COLON = re.compile(r"(?i:answer)\s{0,3}:\s{0,3}\(?([A-J])\)?(?![A-Za-z])")
_BOXED_LETTER = re.compile(r"\\boxed\{\s{0,3}\(?([A-J])\)?\s{0,3}\}")


_OFFICIAL_ANSWER_IS = re.compile(r"answer is \(?([A-J])\)?")
_OFFICIAL_ANSWER_COLON = re.compile(r"(?=[aA]nswer:\s*([A-J]))")
_STANDALONE_LETTER = re.compile(r"\b[A-J]\b")


def official_choice(response: str) -> str | None:
    """The option letter MMLU-Pro's own extraction reads, or None (module docstring)."""
    m = _OFFICIAL_ANSWER_IS.search(response)
    if m:
        return m.group(1)
    # Rule 2: every start of "[aA]nswer:\s*[A-J]" (overlapping ones too, hence the look-ahead);
    # the first line holding one, and the last start in that line.
    letter, line_end = None, -1
    for m in _OFFICIAL_ANSWER_COLON.finditer(response):
        if letter is None:
            line_end = response.find("\n", m.start())
            line_end = len(response) if line_end == -1 else line_end
        elif m.start() >= line_end:
            break
        letter = m.group(1)
    if letter is not None:
        return letter
    # Rule 3: the last `\b[A-J]\b` (two standalone letters cannot overlap, so finditer sees all).
    last = None
    for m in _STANDALONE_LETTER.finditer(response):
        last = m.group(0)
    return last


def extract_choice(response: str) -> str | None:
    """The option letter a response chose under the `last_answer` protocol (module docstring)."""
    for pattern in (_ANSWER_IS, _ANSWER_COLON, _BOXED_LETTER):
        last = None
        for m in pattern.finditer(response):
            last = m.group(1)
        if last is not None:
            return last
    return None


def paper_prompt(row: dict[str, Any]) -> str:
    """A row as Paper A's EasyR1 copy is taken to present it (module docstring)."""
    options = "".join(f"{LETTERS[i]}. {str(o).strip()}\n" for i, o in enumerate(row["options"][: len(LETTERS)]))
    return f"{row['question']}\n{options}{OPTION_LETTER}"


def format_question(row: dict[str, Any]) -> str:
    options = "".join(f"{LETTERS[i]}. {str(o).strip()}\n" for i, o in enumerate(row["options"][: len(LETTERS)]))
    return f"Question:\n{row['question']}\nOptions:\n{options}"


class MMLUPro(PaperAGeneral, HubTask):
    name = "mmlu_pro"
    version = "3"
    description = "MMLU-Pro test: 10 options, five-shot chain of thought; text only"
    hub_id = "TIGER-Lab/MMLU-Pro"
    hub_revision = "b189ec765aa7ed75c8acfea42df31fdae71f97be"
    hub_splits = {"test": "test"}
    hub_columns = ("question_id", "question", "options", "answer", "category")
    image_columns = ()
    takes_images = False
    sources = ("hub", "dataset folder", "parquet")
    prompt_styles = ("standard", "paper", "no_cot")
    protocols = ("official", "last_answer", "paper")
    defaults: ClassVar[dict[str, Any]] = {"style": "standard", "shots": 5, "fewshot_data": "", **HubTask.defaults}

    def validate(self) -> None:
        if not 0 <= self.params["shots"] <= 10:
            raise HarnessError("mmlu_pro: shots must be between 0 and 10")

    def table_samples(self, data: str, kind: str, split: str) -> list[Sample]:
        table = self.open_table(data, kind, self.hub_splits[split])
        require_columns(table, list(self.hub_columns), data, "TIGER-Lab/MMLU-Pro")
        shots = {} if self.rft_style() else self._fewshot_pool(data, kind)
        samples, seen = [], set()
        for index, row in enumerate(text_rows(table, [])):
            if not isinstance(row["options"], list) or row["answer"] not in LETTERS[: len(row["options"])]:
                raise HarnessError(f"{data}: row {index}: malformed (answer {row['answer']!r} with {len(row['options'] or [])} options)")
            sid = str(row["question_id"])
            if sid in seen:
                raise HarnessError(f"{data}: row {index}: duplicate id {sid!r}")
            seen.add(sid)
            meta = {"category": row["category"], "n_options": len(row["options"])}
            if self.rft_style():
                messages = self.paper_turn(paper_prompt(row), False)
            else:
                messages = [{"role": "user", "content": [{"type": "text", "text": self._prompt(row, shots.get(row["category"], []))}]}]
            samples.append(Sample(sid, messages, row["answer"], [], meta))
        return samples

    def _fewshot_pool(self, data: str, kind: str) -> dict[str, list[dict[str, Any]]]:
        if self.params["shots"] == 0:
            return {}
        source = self.params["fewshot_data"]
        if source:
            pool = self.open_table(source, detect_source(source), "validation")
        elif kind == "table":
            raise HarnessError("mmlu_pro: a single data file holds no few-shot pool; give fewshot_data=FILE (the validation split) or shots=0")
        else:
            pool = self.open_table(data, kind, "validation")
        require_columns(pool, ["question", "options", "cot_content", "category"], source or data, "TIGER-Lab/MMLU-Pro validation")
        by_category: dict[str, list[dict[str, Any]]] = {}
        for row in text_rows(pool, []):
            by_category.setdefault(row["category"], []).append(row)
        return {c: rows[: self.params["shots"]] for c, rows in by_category.items()}

    def _prompt(self, row: dict[str, Any], examples: list[dict[str, Any]]) -> str:
        header = (
            f"The following are multiple choice questions (with answers) about {row['category']}. Think step by "
            'step and then finish your answer with "the answer is (X)" where X is the correct letter choice.\n'
        )
        shots = [
            format_question(ex) + COT_START + " " + ex["cot_content"].replace("A: Let's think step by step. ", "", 1)
            for ex in examples
        ]
        return header + "".join(s + "\n\n" for s in shots) + format_question(row) + COT_START

    def default_contract(self) -> GenerationContract:
        if self.rft_style():
            return preset_contract(self.preset)
        return GenerationContract(max_new_tokens=2048, stop=("Question:",))

    def _answer_text(self, response: str) -> str | None:
        """What the letter rules read: in the `paper` style (think/boxed) the last box's content,
        None without one (wrong and invalid); otherwise the whole response."""
        return last_boxed(response) if self.style == "paper" else response

    def score(self, response: str, sample: Sample) -> Score:
        text = self._answer_text(response)
        return _letter_score(official_choice(text) if text is not None else None, sample)

    def score_last_answer(self, response: str, sample: Sample) -> Score:
        text = self._answer_text(response)
        if text is not None and self.style == "paper":  # a box's content: a bare letter is the answer
            text = f"\\boxed{{{text}}}" if _BOXED_LETTER.fullmatch(f"\\boxed{{{text}}}") else text
        return _letter_score(extract_choice(text) if text is not None else None, sample)


def _letter_score(letter: str | None, sample: Sample) -> Score:
    acc = 1.0 if letter is not None and letter == sample.target else 0.0
    return Score(acc, letter, letter is not None, {"acc": acc})
