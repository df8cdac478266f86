"""toy_science: option-letter question about a drawn shape (analogue of ScienceQA)."""

from __future__ import annotations

import random

from tasks.toy.common import COLORS, LETTERS, SHAPES, Item, ToyTask, canvas, draw_shape


class ToyScience(ToyTask):
    name = "toy_science"
    version = "2"
    description = "Which shape is in the picture? Four options, answer with the letter."
    analogue = "scienceqa"
    answer_kind = "letter"

    def make(self, rng: random.Random) -> Item:
        size = self.params["image_size"]
        shape = rng.choice(SHAPES)
        color = rng.choice(sorted(COLORS))
        img = canvas(size)
        m = size // 5
        draw_shape(img, shape, COLORS[color], (m, m, size - m, size - m))
        choices = list(SHAPES)
        rng.shuffle(choices)
        answer = LETTERS[choices.index(shape)]
        return Item("Question: Which shape is shown in the image?", answer, [img], choices, {"shape": shape})
