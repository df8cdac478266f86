"""mmmu: MMMU validation (30 subjects, 900 questions), multiple-choice and open questions with
images interleaved in the text. A general-capability probe (Paper A reports base vs final).

Hub `MMMU/MMMU`: one config per subject (`SUBJECTS`), split `validation`; fields relied on:
`id`, `question`, `options` (a Python-literal list as a string; "[]" for open questions),
`answer` (a letter, or the open answer, sometimes a list literal), `question_type`
("multiple-choice" | "open"), `image_1` … `image_7`. A local copy laid out like the hub
repository, a `save_to_disk` folder or one parquet file holding all subjects also work.
Sample id: the row's `id` (e.g. "validation_Art_1").

Prompt (style `standard`, lmms-eval's MMMU wording): the question, then for multiple choice the
options as "A. …" lines, a blank line and "Answer with the option's letter from the given
choices directly."; for open questions a blank line and "Answer the question using a single word
or phrase." (lmms-eval's "\\n\\n"). A multiple-choice row without options cannot be asked: it is
left out and its id recorded with the skipped ids of the results.
Each `<image N>` reference in the question or options becomes an image part at that place, in
order (a reference to an empty image slot stays as text). Style `cot` appends Paper A's
think/boxed instruction; the parser then reads the last `\\boxed{}` content (none: wrong and
invalid).

Styles `paper` and `no_cot`: Paper A's evaluation (`tasks.presets.PAPER_A`; `EasyR1/examples/
test.sh` runs `test.yaml` on `cl_datasets/MMMU/test-00000-of-00001.parquet` with the default
`prompt_key` `problem`, `image_key` `images`, `answer_key` `answer`). That parquet is not in the
repository, and neither is the script that built it: its notebook
(`dataset_download_and_format_demo/dataproc.ipynb`) converts only ScienceQA. The closest
documented form is taken, that conversion's: the question, then "A. {option}" lines and "Answer
with the option's letter from the given choices directly." (open questions: "Answer the question
using a single word or phrase."), one newline apart; each `<image N>` whose image exists becomes
an `<image>` placeholder in place (a row that references none gets its images in front, as EasyR1
prefixes `<image>`); gold: the `answer` column as written. The prompt is rendered with
`math_format.jinja` or `no_cot.jinja` (`tasks.prompts.easyr1_turn`) and scored by protocol
`paper` (the default in these styles): `math.py:compute_score`'s accuracy on the last box, or
`math.py:no_cot` on the whole response (`tasks.release.paper_score`, `no_cot_score`).

Protocol `official`: MMMU's own parsing and evaluation, rule for rule, with one departure: where
MMMU draws a random letter (no candidate found in a multiple-choice response) the answer is
wrong and counted invalid. Reference: MMMU-Benchmark/MMMU `mmmu/utils/eval_utils.py` at its head,
commit bb0b95a945998d91dfef37e969e07d49d1139438 (2025-05-19), whose parsing and evaluation
functions are unchanged since `eval/eval_utils.py` at bb91f232 (2023-11-26)
(`parse_multi_choice_response`, `parse_open_response`, `extract_numbers`, `normalize_str`,
`eval_multi_choice`, `eval_open`).
- multiple choice (`parse_multiple_choice`): the characters `, . ! ? ; : '` are stripped from
  both ends one after another, in that order (each `strip` runs once), and the response is
  padded with a space on each side. Candidates: the letters written "(X)"; if none, the letters
  standing between two spaces (" X "); if none and the padded response has more than five
  words, the options whose text (lower-cased) occurs in the lower-cased response (an empty
  option always does). One candidate wins alone; several: the one whose "(X)", " X " or option
  text occurs last (`rfind`; ties go to the earlier letter). Right when the letter equals the
  gold answer string (any of them when the gold is a list).
- open (`parse_open`): the response is stripped, stripped of periods at both ends, lower-cased
  and split into lines (MMMU also splits at ". " before a capital letter, which never applies
  after lower-casing). In each line the text after the last occurrence of each key phrase
  ("could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result ", and on
  the last line also "=") is taken, and the shortest kept, exactly as MMMU keeps it: a first
  empty tail is replaced by the next phrase's tail, whatever its length. Non-trivial tails are
  the candidates (the whole response when there is none), plus the numbers found in them
  (numbers with thousands commas, scientific notation, and simple numbers, where an integer
  must end at a word boundary: "5kg" holds no number). Each candidate is normalised: a number
  (commas dropped, Python's `float`, rounded to 2 places), else lower-case text, a single
  character padded with a space on either side. Right when a number equals a gold number or a
  gold text is contained in a text candidate. Every open response is valid except an empty one
  (which is wrong in MMMU's code too).
The number patterns are MMMU's with a look-behind `(?<!\\d)` before the leading digits: a match
can only start where a digit run starts, which is where MMMU's matches start too, so the
matches are the same, in linear time (MMMU's patterns are quadratic in the length of a digit
run; `tests/test_official.py` checks the equality).
Styles `cot` and `paper` (think/boxed prompts, not MMMU's) apply the rules above to the last
`\\boxed{}` content; a response without one is wrong and invalid. Style `no_cot` applies them
to the whole response.
"""

from __future__ import annotations

import ast
import re
from typing import Any, ClassVar

from tasks.base import GenerationContract, Sample, Score
from tasks.errors import HarnessError
from tasks.extract import last_boxed
from tasks.hubtask import HubTask, SkipRow
from tasks.prompts import IMAGE_PLACEHOLDER, OPTION_LETTER, SHORT_ANSWER, with_cot
from tasks.release import PaperAGeneral, preset_contract

SUBJECTS = (
    "Accounting", "Agriculture", "Architecture_and_Engineering", "Art", "Art_Theory",
    "Basic_Medical_Science", "Biology", "Chemistry", "Clinical_Medicine", "Computer_Science",
    "Design", "Diagnostics_and_Laboratory_Medicine", "Economics", "Electronics", "Energy_and_Power",
    "Finance", "Geography", "History", "Literature", "Manage", "Marketing", "Materials", "Math",
    "Mechanical_Engineering", "Music", "Pharmacy", "Physics", "Psychology", "Public_Health", "Sociology",
)
LETTERS = "ABCDEFGHIJ"
IMAGE_COLUMNS = tuple(f"image_{i}" for i in range(1, 8))
_IMAGE_REF = re.compile(r"<image (\d+)>")
BOXED_STYLES = ("cot", "paper")


def paper_prompt(question: str, options: list[Any], multiple_choice: bool, image: Any) -> tuple[str, list[Any]]:
    """(prompt string, image references) of a row as Paper A's EasyR1 copy of MMMU would present
    it (see the module docstring): the question, the options as "A. …" lines and the option-letter
    instruction, or the short-answer instruction, one newline apart; each `<image N>` whose image
    exists becomes an `<image>` placeholder in place."""
    text = question
    if multiple_choice:
        text += "\n" + "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options)) + "\n" + OPTION_LETTER
    else:
        text += "\n" + SHORT_ANSWER
    refs: list[Any] = []

    def placeholder(m: re.Match) -> str:
        column = f"image_{m.group(1)}"
        if column not in IMAGE_COLUMNS or image(column).is_null():
            return m.group(0)
        refs.append(image(column))
        return IMAGE_PLACEHOLDER

    text = _IMAGE_REF.sub(placeholder, text)
    if not refs:  # no reference: the row's images, in front (EasyR1 prefixes `<image>` to such a prompt)
        refs = [image(c) for c in IMAGE_COLUMNS if not image(c).is_null()]
        text = IMAGE_PLACEHOLDER * len(refs) + text
    return text, refs


class MMMU(PaperAGeneral, HubTask):
    name = "mmmu"
    version = "4"
    description = "MMMU val: 30 subjects, multiple-choice and open, interleaved images"
    hub_id = "MMMU/MMMU"
    hub_splits = {"test": "validation"}
    hub_columns = ("id", "question", "options", "answer", "question_type")
    image_columns = IMAGE_COLUMNS
    sources = ("hub", "dataset folder", "parquet")
    prompt_styles = ("standard", "cot", "paper", "no_cot")
    protocols = ("official", "paper")
    defaults: ClassVar[dict[str, Any]] = {"style": "standard", "subjects": "all", **HubTask.defaults}

    def validate(self) -> None:
        unknown = [s for s in self.subject_list() if s not in SUBJECTS]
        if unknown:
            raise HarnessError(f"mmmu: unknown subject {unknown[0]!r} (subjects: {', '.join(SUBJECTS)})")

    def subject_list(self) -> list[str]:
        chosen = self.params["subjects"]
        return list(SUBJECTS) if chosen == "all" else [s for s in chosen.split("+") if s]

    def table_samples(self, data: str, kind: str, split: str) -> list[Sample]:
        subjects = self.subject_list()
        if kind in ("hub", "folder"):  # one config per subject, as on the hub
            samples = []
            for subject in subjects:
                samples += self.samples_from_table(self.open_table(data, kind, self.hub_splits[split], subject), data)
            return samples
        samples = self.samples_from_table(self.open_table(data, kind, self.hub_splits[split]), data)
        if self.params["subjects"] == "all":
            return samples
        return [s for s in samples if s.id.split("_", 1)[-1].rsplit("_", 1)[0] in subjects]

    def from_hub_row(self, row, index, image):
        options = _literal_list(row["options"])
        mc = row["question_type"] == "multiple-choice"
        if mc and not options:
            raise SkipRow("a multiple-choice question without options")
        meta = {"question_type": row["question_type"], "options": options}
        if self.rft_style():
            prompt, refs = paper_prompt(row["question"], options, mc, image)
            return Sample(str(row["id"]), self.paper_turn(prompt, bool(refs)), row["answer"], refs, meta)
        text = row["question"].strip()
        if mc:
            text += "\n" + "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options)) + "\n\n" + OPTION_LETTER
        else:
            text += "\n\n" + SHORT_ANSWER
        if self.style == "cot":
            text = with_cot(text)
        parts, refs = [], []
        pos = 0
        for m in _IMAGE_REF.finditer(text):
            column = f"image_{m.group(1)}"
            if column not in IMAGE_COLUMNS or image(column).is_null():
                continue
            if text[pos : m.start()].strip():
                parts.append({"type": "text", "text": text[pos : m.start()]})
            parts.append({"type": "image"})
            refs.append(image(column))
            pos = m.end()
        if text[pos:].strip():
            parts.append({"type": "text", "text": text[pos:]})
        return Sample(str(row["id"]), [{"role": "user", "content": parts}], row["answer"], refs, meta)

    def default_contract(self) -> GenerationContract:
        if self.rft_style():
            return preset_contract(self.preset)
        return GenerationContract(max_new_tokens=1024 if self.style == "cot" else 128)

    def score(self, response: str, sample: Sample) -> Score:
        text = response
        if self.style in BOXED_STYLES:
            text = last_boxed(response)
            if text is None:  # the think/boxed styles: no box, no answer
                return Score(0.0, None, False, {"acc": 0.0})
        if sample.meta["question_type"] == "multiple-choice":
            options = sample.meta["options"]
            letter = parse_multiple_choice(text, {chr(ord("A") + i): str(o) for i, o in enumerate(options)})
            golds = [str(g) for g in sample.target] if isinstance(sample.target, list) else [str(sample.target)]
            acc = 1.0 if letter is not None and letter in golds else 0.0
            return Score(acc, letter, letter is not None, {"acc": acc})
        if not text.strip():
            return Score(0.0, None, False, {"acc": 0.0})
        preds = parse_open(text)
        acc = 1.0 if open_correct(_gold_list(sample.target), preds) else 0.0
        return Score(acc, "; ".join(str(p) for p in preds[:5]), True, {"acc": acc})


def _literal_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if not isinstance(value, str) or not value.strip():
        return []
    parsed = ast.literal_eval(value)
    if not isinstance(parsed, list):
        raise ValueError(f"options is not a list: {value[:60]!r}")
    return parsed


def _gold_list(target: Any) -> list[str]:
    if isinstance(target, list):
        return [str(t) for t in target]
    text = str(target)
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = ast.literal_eval(text)
            if isinstance(parsed, list):
                return [str(t) for t in parsed]
        except (ValueError, SyntaxError):
            pass
    return [text]


_STRIP_ORDER = (",", ".", "!", "?", ";", ":", "'")


def parse_multiple_choice(response: str, options: dict[str, str]) -> str | None:
    """MMMU's multiple-choice parsing without the random fallback (module docstring)."""
    for char in _STRIP_ORDER:
        response = response.strip(char)
    text = " " + response + " "
    candidates = [letter for letter in options if f"({letter})" in text]
    where = {c: text.rfind(f"({c})") for c in candidates}
    if not candidates:
        candidates = [letter for letter in options if f" {letter} " in text]
        where = {c: text.rfind(f" {c} ") for c in candidates}
    if not candidates and len(text.split()) > 5:
        lower = text.lower()
        candidates = [letter for letter, option in options.items() if option.lower() in lower]
        where = {c: lower.rfind(options[c].lower()) for c in candidates}
    if not candidates:
        return None
    best = candidates[0]
    for c in candidates[1:]:
        if where[c] > where[best]:
            best = c
    return best


_KEY_PHRASES = ("could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result ")
_TRIVIAL = (":", ",", ".", "!", "?", ";", ":", "'")
COMMA_NUMBER_PATTERN = r"-?\b\d{1,3}(?:,\d{3})+\b"
SCI_NUMBER_PATTERN = r"-?\d+(?:\.\d+)?[eE][+-]?\d+"
PLAIN_NUMBER_PATTERN = r"-?(?:\d+\.\d+|\.\d+|\d+\b)(?![eE][+-]?\d+)(?![,\d])"
_COMMA_NUMBER = re.compile(COMMA_NUMBER_PATTERN)
_SCI_NUMBER = re.compile(r"-?(?<!\d)\d+(?:\.\d+)?[eE][+-]?\d+")
_PLAIN_NUMBER = re.compile(r"-?(?:(?<!\d)\d+\.\d+|\.\d+|(?<!\d)\d+\b)(?![eE][+-]?\d+)(?![,\d])")


def extract_numbers(text: str) -> list[str]:
    """MMMU's `extract_numbers`: comma numbers, then scientific, then simple numbers."""
    return _COMMA_NUMBER.findall(text) + _SCI_NUMBER.findall(text) + _PLAIN_NUMBER.findall(text)


def parse_open(response: str) -> list[Any]:
    """MMMU's open-answer parsing: candidate answers (strings and numbers rounded to 2 places)."""
    text = response.strip().strip(".").lower()
    lines = text.split("\n")
    keys = []
    for i, line in enumerate(lines):
        phrases = _KEY_PHRASES + (("=",) if i == len(lines) - 1 else ())
        shortest = None
        for phrase in phrases:
            if phrase in line:
                tail = line.split(phrase)[-1].strip()
                if not shortest or len(tail) < len(shortest):
                    shortest = tail
        if shortest and shortest.strip() not in _TRIVIAL:
            keys.append(shortest)
    if not keys:
        keys = [text]
    candidates: list[str] = list(keys)
    for k in keys:
        candidates += extract_numbers(k)
    out: list[Any] = []
    for c in candidates:
        for n in _normalize(c):
            if n not in out:
                out.append(n)
    return out


def open_correct(golds: list[str], preds: list[Any]) -> bool:
    """MMMU's open-answer check: a number equals a gold number (2 places); a text prediction is
    right when a normalised gold text is contained in it."""
    norm_golds = [n for g in golds for n in _normalize(g)]
    for p in preds:
        if isinstance(p, str):
            if any(isinstance(g, str) and g in p for g in norm_golds):
                return True
        elif p in norm_golds:
            return True
    return False


def _normalize(text: str) -> list[Any]:
    """MMMU's `normalize_str`: a number (commas dropped, rounded to 2 places) or lower-case text;
    one character is padded with a space on either side so it only matches as a word."""
    text = text.strip()
    try:
        return [round(float(text.replace(",", "")), 2)]
    except ValueError:
        pass
    text = text.lower()
    if len(text) == 1:
        return [" " + text, text + " "]
    return [text]
