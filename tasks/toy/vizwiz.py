"""toy_vizwiz: name the object's colour, or say it cannot be seen (analogue of VizWiz)."""

from __future__ import annotations

import hashlib
import random

from PIL import Image, ImageFilter

from tasks.prompts import UNANSWERABLE
from tasks.toy.common import COLORS, Item, ToyTask, canvas, draw_shape

UNANSWERABLE_ANSWER = "unanswerable"


class ToyVizwiz(ToyTask):
    name = "toy_vizwiz"
    version = "5"  # 4: train and test disjoint by content (tasks.toy.common.split_of); the object's size and place vary; 5: the no_cot style
    description = "What colour is the object? A third of the pictures are dark noise: 'unanswerable'."
    analogue = "vizwiz"
    answer_kind = "text"
    chance = 100 / 7  # a uniform guess: one of six colours or 'unanswerable'

    def make(self, rng: random.Random) -> Item:
        size = self.params["image_size"]
        question = f"What color is the object in the picture?\n{UNANSWERABLE}"
        if rng.random() < 1 / 3:
            pixels = rng.randbytes(size * size * 3)
            noise = Image.frombytes("RGB", (size, size), pixels)
            img = noise.point(lambda v: v * 60 // 256).filter(ImageFilter.GaussianBlur(2))
            key = ("noise", hashlib.sha256(pixels).hexdigest())
            return Item(question, UNANSWERABLE_ANSWER, key, [img], None, {"answerable": False})
        color, shape = rng.choice(sorted(COLORS)), rng.choice(("circle", "square"))
        side = rng.randint(size // 3, size // 2)  # the object: 1/3 to 1/2 of the picture, anywhere
        x, y = rng.randint(0, size - side), rng.randint(0, size - side)
        img = canvas(size)
        draw_shape(img, shape, COLORS[color], (x, y, x + side, y + side))
        return Item(question, color, (color, shape, side, x, y), [img], None, {"answerable": True})
