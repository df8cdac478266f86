"""toy_spatial: is one shape left or right of another (analogue of GQA's relation questions)."""

from __future__ import annotations

import random

from PIL import Image

from tasks.toy.common import BACKGROUND, COLORS, Item, ToyTask, draw_shape

ROW = 28  # one row of the vision merger's 28-pixel tokens


class ToySpatial(ToyTask):
    """A shelf of three shapes in one row: the picture is `2 * image_size` wide and 28 pixels high,
    so the vision tokens reach the model in left-to-right order. (Qwen2.5-VL's vision tower has no
    absolute position embedding, and the tiny models' rotary width frequencies are too low to tell
    columns apart. They learn left from right neither in a square picture nor, within the steps
    tried, on this shelf: docs/lab.md.)"""

    name = "toy_spatial"
    version = "5"  # 4: train and test items disjoint by content (tasks.toy.common.split_of); 5: the no_cot style
    description = "Three shapes on a shelf: is the first named shape left or right of the second?"
    analogue = "gqa"
    answer_kind = "text"
    chance = 50.0  # a uniform guess: left or right

    def make(self, rng: random.Random) -> Item:
        width = 2 * self.params["image_size"]
        c1, c2, c3 = rng.sample(sorted(COLORS), 3)
        s1, s2 = rng.choice(("circle", "square")), rng.choice(("triangle", "diamond"))
        img = Image.new("RGB", (width, ROW), BACKGROUND)
        slots = rng.sample(range(width // ROW), 3)  # three distinct cells of the row, left to right
        s3 = rng.choice(("circle", "square", "triangle", "diamond"))
        for (shape, color), slot in zip(((s1, c1), (s2, c2), (s3, c3)), slots):
            x = slot * ROW
            draw_shape(img, shape, COLORS[color], (x + 2, 2, x + ROW - 3, ROW - 3))
        first_left = slots[0] < slots[1]
        question = f"Is the {c1} {s1} to the left or to the right of the {c2} {s2}?"
        return Item(question, "left" if first_left else "right", (c1, c2, c3, s1, s2, s3, tuple(slots)), [img])
