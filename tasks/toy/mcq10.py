"""toy_mcq10: text-only ten-option multiple choice (general-capability probe like MMLU-Pro)."""

from __future__ import annotations

import random

from tasks.toy.common import LETTERS, Item, ToyTask


class ToyMcq10(ToyTask):
    name = "toy_mcq10"
    version = "2"
    description = "Text-only sums with ten options A-J, answer with the letter (like MMLU-Pro)."
    analogue = "mmlu_pro"
    takes_images = False
    answer_kind = "letter"

    def make(self, rng: random.Random) -> Item:
        a, b = rng.randint(1, 20), rng.randint(1, 20)
        right = a + b
        wrong = rng.sample([v for v in range(2, 41) if v != right], 9)
        choices = [str(v) for v in wrong + [right]]
        rng.shuffle(choices)
        answer = LETTERS[choices.index(str(right))]
        return Item(f"Question: What is {a} + {b}?", answer, [], choices)
