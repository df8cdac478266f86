"""toy_geometry: area of the drawn figure from given sides (analogue of Geometry3K)."""

from __future__ import annotations

import random

from PIL import ImageDraw

from tasks.toy.common import Item, ToyTask, canvas


class ToyGeometry(ToyTask):
    name = "toy_geometry"
    version = "5"  # 4: train and test items disjoint by content (tasks.toy.common.split_of); 5: the no_cot style
    description = "A rectangle or a right triangle with the given base and height: what is its area?"
    analogue = "geometry3k"
    answer_kind = "number"
    chance = 100 / 45  # a uniform guess: one of the 45 areas the figures can have

    def make(self, rng: random.Random) -> Item:
        size = self.params["image_size"]
        base, height = rng.randint(2, 9), rng.randint(2, 9)
        figure = rng.choice(("rectangle", "triangle"))
        img = canvas(size)
        d = ImageDraw.Draw(img)
        m = size // 8
        x1, y1 = size - m, size - m
        if figure == "rectangle":
            d.rectangle((m, m, x1, y1), outline=(0, 0, 0), width=max(1, size // 40))
            area = base * height
        else:
            d.polygon([(m, m), (x1, y1), (m, y1)], outline=(0, 0, 0), width=max(1, size // 40))
            area = base * height / 2
        question = f"The figure has base {base} and height {height}. What is its area?"
        answer = str(int(area)) if area == int(area) else str(area)
        return Item(question, answer, (base, height, figure), [img], None, {"figure": figure})
