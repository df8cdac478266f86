"""toy_science: which shape is in the picture, four named options (analogue of ScienceQA)."""

from __future__ import annotations

import random

from tasks.toy.common import COLORS, SHAPES, Item, ToyTask, canvas, draw_shape


class ToyScience(ToyTask):
    name = "toy_science"
    version = "5"  # 4: train and test items disjoint by content (tasks.toy.common.split_of); 5: the no_cot style
    description = "Which shape is in the picture? Four options, answer with the option's text."
    analogue = "scienceqa"
    answer_kind = "option"
    chance = 25.0  # a uniform guess: one of four options

    def make(self, rng: random.Random) -> Item:
        size = self.params["image_size"]
        shape = rng.choice(SHAPES)
        color = rng.choice(sorted(COLORS))
        img = canvas(size)
        m = size // 5
        draw_shape(img, shape, COLORS[color], (m, m, size - m, size - m))
        choices = list(SHAPES)
        rng.shuffle(choices)
        return Item("Question: Which shape is shown in the image?", shape, (shape, color, tuple(choices)), [img], choices, {"shape": shape})
