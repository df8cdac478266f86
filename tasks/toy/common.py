"""What the toy CPT tasks share: drawing primitives, item generation per split, prompts in the
two styles, and scoring by answer kind.

Each toy task is a small procedurally rendered analogue of one Paper A task type (or of a
general-capability benchmark). Items are deterministic: item i of a split depends only on the
task name, the seed, the split and i, so `--limit N` always takes the same first N items.

The splits are disjoint by content: every item has a key (everything its text, answer and
picture are drawn from), a hash of (task name, key) puts each key in the test part (a quarter
of the keys) or the train part, and item i of a split is the first draw whose key lies in that
split's part. No test item equals a training item, whatever the seeds or the sizes.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

from PIL import Image, ImageDraw, ImageFont

from tasks.errors import HarnessError
from tasks import extract
from tasks.base import GenerationContract, Sample, Score, Task
from tasks.prompts import SHORT_ANSWER, user_turn, with_cot, with_no_cot

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 205, 40),
    "purple": (140, 60, 180),
    "orange": (245, 140, 30),
}
SHAPES = ("circle", "square", "triangle", "diamond")
LETTERS = "ABCDEFGHIJ"
BACKGROUND = (245, 245, 240)
TEST_SHARE = 0.25  # share of each task's item keys that only test items may have
MAX_DRAWS = 1000  # draws per item before giving up; each task's keys are in the hundreds or more
# The option tasks' instruction: the answer names the option's text, not its letter (the tiny
# models do not learn the letter lookup; docs/lab.md). Worded after tasks.prompts.OPTION_LETTER.
OPTION_TEXT = "Answer with the option's text from the given choices directly."


def canvas(size: int, color: tuple[int, int, int] = BACKGROUND) -> Image.Image:
    return Image.new("RGB", (size, size), color)


def draw_shape(img: Image.Image, shape: str, color: tuple[int, int, int], box: tuple[int, int, int, int]) -> None:
    """Draw a filled shape inside box = (x0, y0, x1, y1)."""
    d = ImageDraw.Draw(img)
    x0, y0, x1, y1 = box
    if shape == "circle":
        d.ellipse(box, fill=color)
    elif shape == "square":
        d.rectangle(box, fill=color)
    elif shape == "triangle":
        d.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], fill=color)
    elif shape == "diamond":
        d.polygon([((x0 + x1) // 2, y0), (x1, (y0 + y1) // 2), ((x0 + x1) // 2, y1), (x0, (y0 + y1) // 2)], fill=color)
    else:
        raise ValueError(shape)


def font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def options_block(choices: list[str]) -> str:
    """ScienceQA-style option list: "Options: (A) x (B) y"."""
    return "Options: " + " ".join(f"({LETTERS[i]}) {c}" for i, c in enumerate(choices))


@dataclass
class Item:
    """One generated item: question text, gold answer, images, options for option answers, and
    its key: a tuple of the str / int values (a digest for random pixels) that its text, answer and
    picture are drawn from; equal keys mean equal items."""

    question: str
    answer: str
    key: tuple
    images: list[Image.Image] = field(default_factory=list)
    choices: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def split_of(task_name: str, key: tuple) -> str:
    """The split ("train" or "test") whose items may have this key: a sha256 of the task name and
    the key's repr, read as a fraction of 2**64, below TEST_SHARE is test."""
    digest = hashlib.sha256(f"{task_name}\0{key!r}".encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") < TEST_SHARE * 2**64 else "train"


class ToyTask(Task):
    """Base of the toy suite. A subclass sets `name`, `version`, `description`, `analogue`,
    `answer_kind` ("option", "number", "text" or "yesno") and implements `make`.
    "option": the answer is the text of one of the item's options (its `choices`); an item with
    choices is an option item.

    Styles: `cot` appends Paper A's think/boxed instruction and reads the answer from the last
    `\\boxed{}`; `direct` ends with the short-answer (or option-text) instruction
    and reads the whole response (or its last `\\boxed{}`, if it has one); `no_cot` appends Paper
    A's no-CoT instruction (`no_cot.jinja`, "You MUST provide the final answer directly.") and
    reads the response as `direct` does (method `grpo-nocot` trains in it).
    """

    prompt_styles: ClassVar[tuple[str, ...]] = ("cot", "direct", "no_cot")

    analogue: ClassVar[str]
    answer_kind: ClassVar[str]
    chance: ClassVar[float]  # accuracy (%) of a uniform guess among the answers an item can have
    max_new_tokens: ClassVar[int] = 128
    defaults: ClassVar[dict[str, Any]] = {
        "style": "cot",
        "n_train": 1000,
        "n_test": 200,
        "seed": 0,
        "image_size": 112,
    }

    def validate(self) -> None:
        for key in ("n_train", "n_test"):
            if self.params[key] < 0:
                raise HarnessError(f"task {self.name!r}: {key} must be >= 0")
        if not 28 <= self.params["image_size"] <= 1024:
            raise HarnessError(f"task {self.name!r}: image_size must be within 28..1024")

    def make(self, rng: random.Random) -> Item:
        raise NotImplementedError

    def load(self, split: str) -> list[Sample]:
        self.check_split(split)
        n = self.params["n_train" if split == "train" else "n_test"]
        return [self._sample(split, i) for i in range(n)]

    def _draw(self, split: str, i: int) -> Item:
        """Item i of the split: the first draw (seeded by task, seed, split, i and the draw's
        number) whose key lies in the split's part of the key space."""
        base = f"{self.name}:{self.params['seed']}:{split}:{i}"
        for attempt in range(MAX_DRAWS):
            item = self.make(random.Random(f"{base}:{attempt}" if attempt else base))
            if split_of(self.name, item.key) == split:
                return item
        raise HarnessError(f"task {self.name!r}: no {split} item in {MAX_DRAWS} draws for item {i}")

    def _sample(self, split: str, i: int) -> Sample:
        item = self._draw(split, i)
        text = item.question
        if item.choices is not None:
            text += "\n" + options_block(item.choices)
        if self.style == "cot":
            text = with_cot(text)
        elif self.style == "no_cot":
            text = with_no_cot(text)
        else:
            text += "\n" + (OPTION_TEXT if item.choices is not None else SHORT_ANSWER)
        meta = dict(item.meta)
        if item.choices is not None:
            meta["choices"] = item.choices
        return Sample(
            id=f"{split}-{i:05d}",
            messages=user_turn(text, len(item.images)),
            target=item.answer,
            images=item.images,
            meta=meta,
        )

    def default_contract(self) -> GenerationContract:
        tokens = self.max_new_tokens if self.style == "cot" else 16
        return GenerationContract(max_new_tokens=tokens, stop=("<|im_end|>",))

    def score(self, response: str, sample: Sample) -> Score:
        fmt = 1.0 if extract.format_think_boxed(response) else 0.0
        boxed = extract.last_boxed(response)
        if self.style == "cot":
            candidate = boxed
        else:
            candidate = boxed if boxed is not None else response
        if candidate is None:
            return Score(0.0, None, False, {"acc": 0.0, "fmt": fmt})
        extracted, correct = self._judge(candidate, sample)
        acc = 1.0 if correct else 0.0
        return Score(acc, extracted, extracted is not None, {"acc": acc, "fmt": fmt})

    def _judge(self, candidate: str, sample: Sample) -> tuple[str | None, bool]:
        """(normalised answer or None when unparseable, whether it equals the target)."""
        gold = str(sample.target)
        kind = self.answer_kind
        if kind == "option":
            return option_text(candidate, sample.meta["choices"], gold)
        if kind == "number":
            value = extract.parse_number(candidate)
            if value is None:
                value = extract.last_number(candidate)
            if value is None:
                return None, False
            return _fmt_number(value), extract.numbers_equal(value, float(gold))
        if kind == "yesno":
            got = extract.yes_no(candidate)
            return got, got == gold
        got = extract.normalize_text(candidate)
        return (got or None), bool(got) and got == extract.normalize_text(gold)


def option_text(candidate: str, choices: list[str], gold: str) -> tuple[str | None, bool]:
    """The option a response names, by its text: the normalised response (`extract.normalize_text`)
    equals one option's normalised text. A response naming no option (a letter, two options,
    anything else) is no answer (None). Correct when the named option is `gold`."""
    said = extract.normalize_text(candidate)
    named = next((c for c in choices if extract.normalize_text(c) == said), None) if said else None
    return named, named is not None and named == gold


def _fmt_number(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
