"""toy_ocr: read one of two rendered words, with OCR tokens in the prompt (analogue of TextVQA)."""

from __future__ import annotations

import random

from PIL import ImageDraw

from tasks.toy.common import Item, ToyTask, canvas, font

WORDS = ("cat", "sun", "map", "box", "pen", "cup", "key", "car", "hat", "owl", "fig", "jam")


class ToyOcr(ToyTask):
    name = "toy_ocr"
    version = "5"  # 4: train and test items disjoint by content (tasks.toy.common.split_of); 5: the no_cot style
    description = "Two words are written in the picture; name the top or the bottom one."
    analogue = "textvqa"
    answer_kind = "text"
    chance = 50.0  # a uniform guess: one of the two reference OCR tokens

    def make(self, rng: random.Random) -> Item:
        size = self.params["image_size"]
        top, bottom = rng.sample(WORDS, 2)
        img = canvas(size)
        d = ImageDraw.Draw(img)
        f = font(max(10, size // 4))
        d.text((size // 10, size // 10), top, fill=(0, 0, 0), font=f)
        d.text((size // 10, size // 2 + size // 10), bottom, fill=(0, 0, 0), font=f)
        where = rng.choice(("top", "bottom"))
        tokens = [top, bottom]
        rng.shuffle(tokens)
        question = (
            f"what is the word at the {where} of the image?\n"
            f"Reference OCR token:{','.join(tokens)}"
        )
        return Item(question, top if where == "top" else bottom, (top, bottom, where, tuple(tokens)), [img], None, {"where": where})
