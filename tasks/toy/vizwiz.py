"""toy_vizwiz: name the object's colour, or say it cannot be seen (analogue of VizWiz)."""

from __future__ import annotations

import random

from PIL import Image, ImageFilter

from tasks.prompts import UNANSWERABLE
from tasks.toy.common import COLORS, Item, ToyTask, canvas, draw_shape

UNANSWERABLE_ANSWER = "unanswerable"


class ToyVizwiz(ToyTask):
    name = "toy_vizwiz"
    version = "3"  # 3: states its chance level; items, prompts and scores as in 2
    description = "What colour is the object? A third of the pictures are dark noise: 'unanswerable'."
    analogue = "vizwiz"
    answer_kind = "text"
    chance = 100 / 7  # a uniform guess: one of six colours or 'unanswerable'

    def make(self, rng: random.Random) -> Item:
        size = self.params["image_size"]
        question = f"What color is the object in the picture?\n{UNANSWERABLE}"
        if rng.random() < 1 / 3:
            noise = Image.frombytes("RGB", (size, size), rng.randbytes(size * size * 3))
            img = noise.point(lambda v: v * 60 // 256).filter(ImageFilter.GaussianBlur(2))
            return Item(question, UNANSWERABLE_ANSWER, [img], None, {"answerable": False})
        color = rng.choice(sorted(COLORS))
        img = canvas(size)
        m = size // 4
        draw_shape(img, rng.choice(("circle", "square")), COLORS[color], (m, m, size - m, size - m))
        return Item(question, color, [img], None, {"answerable": True})
