"""toy_texture: does the picture show stripes, yes or no (analogue of PathVQA's yes/no items)."""

from __future__ import annotations

import random

from PIL import ImageDraw

from tasks.toy.common import Item, ToyTask, canvas

PATTERNS = ("stripes", "dots", "checker")


class ToyTexture(ToyTask):
    name = "toy_texture"
    version = "5"  # 4: train and test items disjoint by content (tasks.toy.common.split_of); 5: the no_cot style
    description = "Stripes, dots or a checkerboard: does the tissue show a striped pattern?"
    analogue = "pathvqa"
    answer_kind = "yesno"
    chance = 50.0  # a uniform guess: yes or no

    def make(self, rng: random.Random) -> Item:
        size = self.params["image_size"]
        pattern = "stripes" if rng.random() < 0.5 else rng.choice(PATTERNS[1:])
        ink = (rng.randrange(120, 200), rng.randrange(20, 90), rng.randrange(90, 160))
        img = canvas(size, (250, 225, 235))
        d = ImageDraw.Draw(img)
        step = max(4, size // rng.randint(6, 10))
        if pattern == "stripes":
            for y in range(0, size, step):
                d.rectangle((0, y, size, y + step // 2), fill=ink)
        elif pattern == "dots":
            r = max(1, step // 4)
            for y in range(step // 2, size, step):
                for x in range(step // 2, size, step):
                    d.ellipse((x - r, y - r, x + r, y + r), fill=ink)
        else:
            for y in range(0, size, step):
                for x in range(0, size, step):
                    if (x // step + y // step) % 2 == 0:
                        d.rectangle((x, y, x + step - 1, y + step - 1), fill=ink)
        question = "Does this tissue show a striped pattern?"
        return Item(question, "yes" if pattern == "stripes" else "no", (pattern, ink, step), [img], None, {"pattern": pattern})
