"""jigsaw (Paper B): restore a picture cut into an n x n grid of shuffled tiles.

Presentation (`mode`): `composite`, one image with the shuffled tiles laid out on the grid, or
`tiles`, the n*n tiles as separate images in shuffled order. Either way the shown tiles are
numbered 1..n*n in reading order (left to right, top to bottom; for `tiles`, the image order).

Answer: for each position of the original picture, in reading order, the number of the shown
tile that belongs there; n*n integers separated by spaces, e.g. "3 1 4 2".

Scoring: the answer is read from the last `<answer></answer>` (in the `direct` style from the
whole response when it has no such tag); its integers are taken in order. Exactly n*n integers
are a valid answer, anything else is invalid and scores 0. `hit` = fraction of positions right
(partial credit), `acc` = 1 only when all are right (the reported accuracy), `fmt` = the Paper B
format (`<think>…</think><answer>…</answer>`; in `direct`, a response of numbers alone).
Reward for training = hit + acc + fmt (Paper B's R_hit + R_acc + R_fmt).

Source pictures (`source`): `synthetic` (built-in generator of varied pictures), a folder of
image files (searched recursively, sorted), or `hf:DATASET_ID` (a Hugging Face image dataset or
local dataset folder, loaded with `datasets`; the first image column is used).
"""

from __future__ import annotations

import random
import re
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from PIL import Image, ImageDraw

from tasks.errors import HarnessError
from tasks import extract
from tasks.base import GenerationContract, Sample, Score, Task
from tasks.prompts import THINK_ANSWER_INSTRUCTION, user_turn

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
_INT = re.compile(r"\d+")
_NUMBERS_ONLY = re.compile(r"[\d\s,]+")


class Jigsaw(Task):
    name = "jigsaw"
    version = "3"
    description = "Paper B's jigsaw: output the permutation that restores a shuffled n x n grid."
    metric = "accuracy (exact permutation); hit rate in parts"
    sources = ("synthetic", "image folder", "hf image dataset")
    defaults: ClassVar[dict[str, Any]] = {
        "style": "cot",
        "grid": 3,  # Paper B's 3x3
        "mode": "composite",
        "source": "synthetic",
        "n_train": 1000,
        "n_test": 200,
        "seed": 0,
        "image_size": 112,
    }

    def validate(self) -> None:
        if not 2 <= self.params["grid"] <= 4:
            raise HarnessError("task 'jigsaw': grid must be 2, 3 or 4")
        if self.params["mode"] not in ("composite", "tiles"):
            raise HarnessError("task 'jigsaw': mode must be 'composite' or 'tiles'")
        if not 28 <= self.params["image_size"] <= 2048:
            raise HarnessError("task 'jigsaw': image_size must be within 28..2048")

    # ---- data -------------------------------------------------------------------------------
    def load(self, split: str) -> list[Sample]:
        self.check_split(split)
        n = self.params["n_train" if split == "train" else "n_test"]
        return [self._sample(split, i) for i in range(n)]

    def _sample(self, split: str, i: int) -> Sample:
        g = self.params["grid"]
        t = self.params["image_size"] // g  # tile side; the picture is g*t square
        size = g * t
        rng = random.Random(f"jigsaw:{self.params['seed']}:{split}:{i}")
        picture = self._picture(rng).convert("RGB").resize((size, size))
        tiles = [picture.crop(((k % g) * t, (k // g) * t, (k % g + 1) * t, (k // g + 1) * t)) for k in range(g * g)]
        shown = list(range(g * g))  # shown[k] = original position of shown tile k
        while shown == sorted(shown):
            rng.shuffle(shown)
        answer = [shown.index(p) + 1 for p in range(g * g)]
        if self.params["mode"] == "composite":
            composite = Image.new("RGB", (size, size))
            for k, p in enumerate(shown):
                composite.paste(tiles[p], ((k % g) * t, (k // g) * t))
            images = [composite]
            intro = (
                f"The image is a picture cut into a {g}x{g} grid of tiles that were shuffled. "
                f"The tiles are numbered 1 to {g * g} in reading order (left to right, top to bottom)."
            )
        else:
            images = [tiles[p] for p in shown]
            intro = (
                f"The {g * g} images are the tiles of one picture cut into a {g}x{g} grid, "
                f"given in shuffled order and numbered 1 to {g * g} in that order."
            )
        ask = (
            " For each position of the original picture, in reading order, give the number of "
            f"the tile that belongs there: {g * g} numbers separated by spaces."
        )
        text = intro + ask
        text += " " + THINK_ANSWER_INSTRUCTION if self.style == "cot" else " Answer with the numbers only."
        return Sample(
            id=f"{split}-{i:05d}",
            messages=user_turn(text, len(images)),
            target=" ".join(map(str, answer)),
            images=images,
            meta={"grid": g, "shown": shown},
        )

    def _picture(self, rng: random.Random) -> Image.Image:
        source = self.params["source"]
        if source == "synthetic":
            return synthetic_picture(rng, self.params["image_size"])
        pictures = self._source_pictures
        item = pictures[rng.randrange(len(pictures))]
        if isinstance(item, Path):
            try:
                return Image.open(item)
            except OSError as e:
                raise HarnessError(f"jigsaw: cannot open image {item}: {e}") from None
        return item

    @cached_property
    def _source_pictures(self) -> list[Any]:
        source = self.params["source"]
        if source.startswith("hf:"):
            return _hf_images(source[3:])
        folder = Path(source)
        if not folder.is_dir():
            raise HarnessError(f"jigsaw: source {source!r} is neither 'synthetic', 'hf:ID' nor a folder")
        pictures = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not pictures:
            raise HarnessError(f"jigsaw: no image files under {folder}")
        return pictures

    # ---- generation and scoring -------------------------------------------------------------
    def default_contract(self) -> GenerationContract:
        tokens = 512 if self.style == "cot" else 32
        return GenerationContract(max_new_tokens=tokens, stop=("<|im_end|>",))

    def score(self, response: str, sample: Sample) -> Score:
        gold = [int(x) for x in str(sample.target).split()]
        tagged = extract.last_tag(response, "answer")
        if self.style == "cot":
            candidate = tagged
            fmt = 1.0 if extract.format_think_answer(response) else 0.0
        else:
            candidate = tagged if tagged is not None else response
            fmt = 1.0 if _NUMBERS_ONLY.fullmatch(response.strip()) else 0.0
        numbers = [int(x) for x in _INT.findall(candidate)] if candidate is not None else []
        if len(numbers) != len(gold):
            return Score(0.0, None, False, {"acc": 0.0, "hit": 0.0, "fmt": fmt})
        hit = sum(a == b for a, b in zip(numbers, gold)) / len(gold)
        acc = 1.0 if hit == 1.0 else 0.0
        return Score(acc, " ".join(map(str, numbers)), True, {"acc": acc, "hit": hit, "fmt": fmt})

    def reward_of(self, s: Score) -> float:
        """Paper B: R_hit + R_acc + R_fmt, from `score`."""
        return s.parts["hit"] + s.parts["acc"] + s.parts["fmt"]


def synthetic_picture(rng: random.Random, size: int) -> Image.Image:
    """A varied picture whose tiles differ: a two-colour gradient, a band of stripes and a few
    filled shapes of random colours, all drawn from `rng`."""
    c0 = [rng.randrange(256) for _ in range(3)]
    c1 = [rng.randrange(256) for _ in range(3)]
    img = Image.new("RGB", (size, size))
    d = ImageDraw.Draw(img)
    horizontal = rng.random() < 0.5
    for k in range(size):
        f = k / max(1, size - 1)
        color = tuple(int(a + (b - a) * f) for a, b in zip(c0, c1))
        d.line(((0, k, size, k) if horizontal else (k, 0, k, size)), fill=color)
    band = rng.randrange(size)
    for x in range(0, size, 8):
        d.line((x, band, x + 4, min(size, band + size // 6)), fill=(255, 255, 255), width=2)
    for _ in range(rng.randint(3, 6)):
        w = rng.randint(size // 8, size // 3)
        x, y = rng.randrange(size - w), rng.randrange(size - w)
        color = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            d.ellipse((x, y, x + w, y + w), fill=color)
        else:
            d.rectangle((x, y, x + w, y + w), fill=color)
    return img


def _hf_images(dataset_id: str) -> list[Any]:
    try:
        import datasets
    except ImportError:
        raise HarnessError("jigsaw: source 'hf:…' needs the 'datasets' package (pip install datasets)") from None
    ds = datasets.load_dataset(dataset_id, split="train")
    columns = [k for k, f in ds.features.items() if isinstance(f, datasets.Image)]
    if not columns:
        raise HarnessError(f"jigsaw: dataset {dataset_id!r} has no image column")
    return list(ds[columns[0]])
