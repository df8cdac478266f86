"""toy_imgmcq: multiple choice about the largest shape's colour (general probe like MMMU)."""

from __future__ import annotations

import random

from tasks.toy.common import COLORS, LETTERS, SHAPES, Item, ToyTask, canvas, draw_shape


class ToyImgMcq(ToyTask):
    name = "toy_imgmcq"
    version = "2"
    description = "Three shapes of different sizes: which colour is the largest? Four options."
    analogue = "mmmu"
    answer_kind = "letter"

    def make(self, rng: random.Random) -> Item:
        size = self.params["image_size"]
        colors = rng.sample(sorted(COLORS), 4)
        img = canvas(size)
        widths = [size // 2, size // 4, size // 6]
        corners = [(0, 0), (size // 2, 0), (0, size // 2), (size // 2, size // 2)]
        rng.shuffle(corners)
        for w, color, (x, y) in zip(widths, colors[:3], corners):
            draw_shape(img, rng.choice(SHAPES), COLORS[color], (x + 1, y + 1, x + w - 1, y + w - 1))
        choices = list(colors)
        rng.shuffle(choices)
        answer = LETTERS[choices.index(colors[0])]
        return Item("Question: What is the color of the largest shape?", answer, [img], choices)
