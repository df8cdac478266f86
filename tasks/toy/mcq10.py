"""toy_mcq10: text-only ten-option multiple choice on recalled facts (general probe like MMLU-Pro)."""

from __future__ import annotations

import random

from tasks.toy.common import Item, ToyTask


class ToyMcq10(ToyTask):
    name = "toy_mcq10"
    version = "5"  # 4: train and test items disjoint by content (tasks.toy.common.split_of); 5: the no_cot style
    description = "Text-only sums of two digits 1-9 with ten options, answer with the option's text (like MMLU-Pro)."
    analogue = "mmlu_pro"
    takes_images = False
    answer_kind = "option"
    chance = 10.0  # a uniform guess: one of ten options

    def make(self, rng: random.Random) -> Item:
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        right = a + b
        wrong = rng.sample([v for v in range(2, 19) if v != right], 9)
        choices = [str(v) for v in wrong + [right]]
        rng.shuffle(choices)
        return Item(f"Question: What is {a} + {b}?", str(right), (a, b, tuple(choices)), [], choices)
