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
choices directly."; for open questions "Answer the question using a single word or phrase.".
Each `<image N>` reference in the question or options becomes an image part at that place, in
order (a reference to an empty image slot stays as text). Style `cot` appends Paper A's
think/boxed instruction; the parser then reads the last `\\boxed{}` content when there is one.

Protocol `official` (MMMU's own parsing), with its random fallback removed:
- multiple choice: trailing/leading `, . ! ? ; : '` are stripped and the response padded with
  spaces; candidates are letters written "(X)", else letters standing alone between spaces
  (" X "), else — for responses over five words — options whose text appears in the response
  (case-insensitive). Several candidates: the one occurring last wins. None: the answer is
  wrong and invalid (MMMU's code picks a random letter here). Deliberate difference: MMMU's
  code accepts a letter followed by a space anywhere ("DATA " contains "A "); here the letter
  must stand alone.
- open: the response is lower-cased and split into lines; from each line the shortest text
  after a key phrase ("could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ",
  "result ", and "=" on the last line) is kept (the whole response when there is none); numbers
  are pulled out of those; numbers are compared rounded to 2 decimals, text is right when the
  normalised gold is contained in it. "The answer is 42." against gold "42" is right. An empty
  response is invalid. Only the last `OPEN_PARSE_CHARS` (4,000) characters are parsed, which
  keeps hostile megabyte responses fast; answers come at the end and MMMU's gold answers are
  short.
"""

from __future__ import annotations

import ast
import re
from typing import Any, ClassVar

from harness.errors import HarnessError
from tasks.base import GenerationContract, Sample, Score
from tasks.extract import last_boxed
from tasks.hubtask import HubTask
from tasks.prompts import OPTION_LETTER, SHORT_ANSWER, with_cot
from tasks.sources import open_table

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
OPEN_PARSE_CHARS = 4000


class MMMU(HubTask):
    name = "mmmu"
    version = "1"
    description = "MMMU val: 30 subjects, multiple-choice and open, interleaved images"
    hub_id = "MMMU/MMMU"
    hub_splits = {"test": "validation"}
    hub_columns = ("id", "question", "options", "answer", "question_type")
    image_columns = IMAGE_COLUMNS
    sources = ("hub", "dataset folder", "parquet")
    prompt_styles = ("standard", "cot")
    protocols = ("official",)
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
                samples += self.samples_from_table(open_table(data, kind, self.hub_splits[split], subject), data)
            return samples
        samples = self.samples_from_table(open_table(data, kind, self.hub_splits[split]), data)
        if self.params["subjects"] == "all":
            return samples
        return [s for s in samples if s.id.split("_", 1)[-1].rsplit("_", 1)[0] in subjects]

    def from_hub_row(self, row, index, image):
        options = _literal_list(row["options"])
        mc = row["question_type"] == "multiple-choice"
        if mc and not options:
            raise ValueError("a multiple-choice question without options")
        text = row["question"].strip()
        if mc:
            text += "\n" + "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options)) + "\n\n" + OPTION_LETTER
        else:
            text += "\n" + SHORT_ANSWER
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
        meta = {"question_type": row["question_type"], "options": options}
        return Sample(str(row["id"]), [{"role": "user", "content": parts}], row["answer"], refs, meta)

    def contract(self) -> GenerationContract:
        return GenerationContract(max_new_tokens=1024 if self.style == "cot" else 128)

    def score(self, response: str, sample: Sample) -> Score:
        text = response
        if self.style == "cot":
            boxed = last_boxed(response)
            text = boxed if boxed is not None else response
        if sample.meta["question_type"] == "multiple-choice":
            options = sample.meta["options"]
            letter = parse_multiple_choice(text, {LETTERS[i]: str(o) for i, o in enumerate(options)})
            acc = 1.0 if letter is not None and letter == str(sample.target).strip() else 0.0
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


def parse_multiple_choice(response: str, options: dict[str, str]) -> str | None:
    """MMMU's multiple-choice parsing without the random fallback (module docstring)."""
    text = " " + response.strip(",.!?;:'") + " "
    found: dict[str, int] = {}
    for letter in options:
        at = text.rfind(f"({letter})")
        if at != -1:
            found[letter] = at
    if not found:
        for letter in options:
            at = text.rfind(f" {letter} ")
            if at != -1:
                found[letter] = at
    if not found and len(text.split()) > 5:
        lower = text.lower()
        for letter, option in options.items():
            at = lower.rfind(option.lower()) if option.strip() else -1
            if at != -1:
                found[letter] = at
    if not found:
        return None
    return max(found, key=lambda k: found[k])


_KEY_PHRASES = ("could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result ")
_COMMA_NUMBER = re.compile(r"-?\b\d{1,3}(?:,\d{3})+\b")
_SCI_NUMBER = re.compile(r"-?\d+(?:\.\d+)?[eE][+-]?\d+")
_PLAIN_NUMBER = re.compile(r"-?(?:\d+\.\d+|\.\d+|\d+)(?![eE][+-]?\d+)(?![,\d])")


def parse_open(response: str) -> list[Any]:
    """MMMU's open-answer parsing: candidate answers (strings and numbers rounded to 2 places)."""
    text = response[-OPEN_PARSE_CHARS:].strip().strip(".").lower()
    lines = text.split("\n")
    keys = []
    for i, line in enumerate(lines):
        phrases = _KEY_PHRASES + (("=",) if i == len(lines) - 1 else ())
        shortest = None
        for phrase in phrases:
            if phrase in line:
                tail = line.split(phrase)[-1].strip()
                if shortest is None or len(tail) < len(shortest):
                    shortest = tail
        if shortest and shortest.strip() not in (":", ",", ".", "!", "?", ";", "'"):
            keys.append(shortest)
    if not keys:
        keys = [text]
    candidates: list[str] = list(keys)
    for k in keys:
        candidates += _COMMA_NUMBER.findall(k) + _SCI_NUMBER.findall(k) + _PLAIN_NUMBER.findall(k)
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
    """A number (commas dropped, rounded to 2 places) or lower-case text; one letter is padded
    with a space on either side so it only matches as a word."""
    text = text.strip()
    try:
        return [round(float(text.replace(",", "")), 2)]
    except ValueError:
        pass
    text = text.lower()
    if len(text) == 1:
        return [" " + text, text + " "]
    return [text]
