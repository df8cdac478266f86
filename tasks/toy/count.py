"""toy_count: how many objects are there (analogue of Super-CLEVR's counting questions)."""

from __future__ import annotations

import random

from tasks.toy.common import COLORS, SHAPES, Item, ToyTask, canvas, draw_shape


class ToyCount(ToyTask):
    name = "toy_count"
    version = "5"  # 4: train and test items disjoint by content (tasks.toy.common.split_of); 5: the no_cot style
    description = "Between one and six shapes on a grid of cells: how many objects are there?"
    analogue = "superclevr"
    answer_kind = "number"
    chance = 100 / 6  # a uniform guess: one of the counts 1-6

    def make(self, rng: random.Random) -> Item:
        size = self.params["image_size"]
        n = rng.randint(1, 6)
        img = canvas(size)
        cell = size // 3
        objects = []
        for pos in rng.sample(range(9), n):
            x, y = (pos % 3) * cell, (pos // 3) * cell
            pad = max(1, cell // 6)
            color, shape = rng.choice(sorted(COLORS)), rng.choice(SHAPES)
            draw_shape(img, shape, COLORS[color], (x + pad, y + pad, x + cell - pad, y + cell - pad))
            objects.append((pos, color, shape))
        return Item("How many objects are there in the image?", str(n), tuple(sorted(objects)), [img])
