"""toy_spatial: is one shape left or right of another (analogue of GQA's relation questions)."""

from __future__ import annotations

import random

from tasks.toy.common import COLORS, Item, ToyTask, canvas, draw_shape


class ToySpatial(ToyTask):
    name = "toy_spatial"
    version = "2"
    description = "Two coloured shapes side by side: is the first left or right of the second?"
    analogue = "gqa"
    answer_kind = "text"

    def make(self, rng: random.Random) -> Item:
        size = self.params["image_size"]
        (c1, c2) = rng.sample(sorted(COLORS), 2)
        s1, s2 = rng.choice(("circle", "square")), rng.choice(("triangle", "diamond"))
        img = canvas(size)
        w = size // 3
        first_left = rng.random() < 0.5
        x1, x2 = (size // 12, size - size // 12 - w) if first_left else (size - size // 12 - w, size // 12)
        y1, y2 = rng.randrange(0, size - w), rng.randrange(0, size - w)
        draw_shape(img, s1, COLORS[c1], (x1, y1, x1 + w, y1 + w))
        draw_shape(img, s2, COLORS[c2], (x2, y2, x2 + w, y2 + w))
        question = f"Is the {c1} {s1} to the left or to the right of the {c2} {s2}?"
        return Item(question, "left" if first_left else "right", [img])
