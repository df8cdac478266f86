"""toy_imgmcq: multiple choice about the largest shape's colour (general probe like MMMU)."""

from __future__ import annotations

import random

from tasks.toy.common import COLORS, SHAPES, Item, ToyTask, canvas, draw_shape


class ToyImgMcq(ToyTask):
    name = "toy_imgmcq"
    version = "5"  # 4: train and test items disjoint by content (tasks.toy.common.split_of); 5: the no_cot style
    description = "Three shapes of different sizes: which colour is the largest? Four options, answer with the option's text."
    analogue = "mmmu"
    answer_kind = "option"
    chance = 25.0  # a uniform guess: one of four options

    def make(self, rng: random.Random) -> Item:
        size = self.params["image_size"]
        colors = rng.sample(sorted(COLORS), 4)
        img = canvas(size)
        widths = [size // 2, size // 4, size // 6]
        corners = [(0, 0), (size // 2, 0), (0, size // 2), (size // 2, size // 2)]
        rng.shuffle(corners)
        shapes = []
        for w, color, (x, y) in zip(widths, colors[:3], corners):
            shapes.append(rng.choice(SHAPES))
            draw_shape(img, shapes[-1], COLORS[color], (x + 1, y + 1, x + w - 1, y + w - 1))
        choices = list(colors)
        rng.shuffle(choices)
        key = (tuple(colors[:3]), tuple(corners[:3]), tuple(shapes), tuple(choices))
        return Item("Question: What is the color of the largest shape?", colors[0], key, [img], choices)
