"""toy_ocr: read the word rendered in the picture, with OCR tokens in the prompt (analogue of TextVQA)."""

from __future__ import annotations

import random

from PIL import ImageDraw

from tasks.toy.common import Item, ToyTask, canvas, font

WORDS = ("cat", "sun", "map", "box", "pen", "cup", "key", "car", "hat", "owl", "fig", "jam")


class ToyOcr(ToyTask):
    name = "toy_ocr"
    version = "6"  # 4: train and test items disjoint by content (tasks.toy.common.split_of); 5: the no_cot style;
    # 6: one word in the picture, not a top and a bottom one (no model of the lab learned which is which; docs/lab.md)
    description = "One word is written in the picture; name it (the prompt lists it and another word as OCR tokens)."
    analogue = "textvqa"
    answer_kind = "text"
    chance = 50.0  # a uniform guess: one of the two reference OCR tokens

    def make(self, rng: random.Random) -> Item:
        size = self.params["image_size"]
        word, other = rng.sample(WORDS, 2)
        img = canvas(size)
        d = ImageDraw.Draw(img)
        f = font(max(10, size // 4))
        d.text((size // 10, size // 3), word, fill=(0, 0, 0), font=f)
        # Like TextVQA's OCR tokens, the prompt's tokens are not all the answer: here the word
        # and a distractor, in a random order.
        tokens = [word, other]
        rng.shuffle(tokens)
        question = f"what is the word in the image?\nReference OCR token:{','.join(tokens)}"
        return Item(question, word, (word, other, tuple(tokens)), [img])
