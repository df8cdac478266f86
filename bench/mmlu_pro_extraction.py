"""Compare our MMLU-Pro answer extraction (`tasks.mmlu_pro.extract_choice`) with lm-eval's
MMLU-Pro filter on the same responses; print the agreement rate and each class of disagreement.

lm-eval's filter is read from the installed package (its `mmlu_pro` task config: the regex and
`take_first`) and run through lm-eval's own `RegexFilter`, so the comparison follows whatever
version is installed (`pip install -e '.[compare]'`).

The responses are generated: chain-of-thought endings in the forms models write (seeded, so the
run is reproducible), each with a random gold letter. They are not model outputs; the point is
to show, form by form, where the two rules part.

    python bench/mmlu_pro_extraction.py [--n 6000] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

import yaml
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tasks.mmlu_pro import LETTERS, extract_choice  # noqa: E402

# Capitalised words starting with an option letter: "The answer is Carbon (B)".
WORDS = ["Adenine", "Bacteria", "Carbon", "Dalton", "Entropy", "Fermi", "Gauss", "Helium", "Iron", "Joule"]
FILLER = [
    "First, recall the definition.", "We compute the value step by step.", "Option {o} can be ruled out.",
    "This matches the second law.", "Let me double-check the arithmetic.", "So 12 * 4 = 48.",
]

# form name -> template; {x} is the letter the response settles on, {y} another letter.
FORMS = {
    "the answer is (X)": "{cot} The answer is ({x}).",
    "the answer is X": "{cot} So the answer is {x}.",
    "revised: (Y) then (X)": "{cot} The answer is ({y}). Wait, re-checking: {cot2} The answer is ({x}).",
    "Answer: X only": "{cot}\nAnswer: {x}",
    "bold **Answer: (X)**": "{cot}\n**Answer: ({x})**",
    "boxed only": "{cot} Therefore $\\boxed{{{x}}}$.",
    "answer is: (X)": "{cot} The correct answer is: ({x})",
    "answer is Word (X)": "{cot} The answer is {word} ({x}).",
    "ANSWER IS (X) caps": "{cot} THE ANSWER IS ({x}).",
    "no answer (cut off)": "{cot} {cot2}",
    "option text, no letter": "{cot} The answer is the mitochondria.",
}


def make_responses(n: int, seed: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    out = []
    forms = list(FORMS.items())
    for i in range(n):
        name, template = forms[i % len(forms)]
        x, y = rng.sample(LETTERS, 2)
        cot = " ".join(f.format(o=rng.choice(LETTERS)) for f in rng.sample(FILLER, 3))
        cot2 = " ".join(f.format(o=rng.choice(LETTERS)) for f in rng.sample(FILLER, 2))
        out.append((name, template.format(cot="Let's think step by step. " + cot, cot2=cot2, x=x, y=y, word=rng.choice(WORDS)), x))
    return out


def lm_eval_filter():
    """lm-eval's MMLU-Pro extraction: its config's regex through its RegexFilter, take_first."""
    import lm_eval
    from lm_eval.filters.extraction import RegexFilter

    config_path = Path(lm_eval.__file__).parent / "tasks" / "mmlu_pro" / "_default_template_yaml"
    text = config_path.read_text()
    config = yaml.safe_load("\n".join(line for line in text.splitlines() if "!function" not in line))
    steps = config["filter_list"][0]["filter"]
    assert [s["function"] for s in steps] == ["regex", "take_first"], steps
    regex = RegexFilter(regex_pattern=steps[0]["regex_pattern"], group_select=0, fallback="[invalid]")

    def extract(response: str) -> str | None:
        got = list(regex.apply([[response]], [{}]))[0][0]  # take_first: the first (only) response
        return None if got == "[invalid]" else got

    return extract, steps[0]["regex_pattern"], lm_eval.__version__


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=6000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    try:
        theirs, pattern, version = lm_eval_filter()
    except ImportError:
        print("lm-eval is not installed: pip install -e '.[compare]'")
        return 2
    rows = make_responses(args.n, args.seed)
    agree = 0
    per_form: dict[str, Counter] = {name: Counter() for name in FORMS}
    for name, response, gold in rows:
        ours, lm = extract_choice(response), theirs(response)
        agree += ours == lm
        per_form[name]["n"] += 1
        per_form[name]["agree"] += ours == lm
        per_form[name]["ours right"] += ours == gold
        per_form[name]["lm-eval right"] += lm == gold
        per_form[name]["ours invalid"] += ours is None
        per_form[name]["lm-eval invalid"] += lm is None
    print(f"lm-eval {version} filter: regex {pattern!r} + take_first; ours: tasks.mmlu_pro.extract_choice")
    print(f"{len(rows)} responses, agreement {agree}/{len(rows)} = {100 * agree / len(rows):.1f}%\n")
    table = [
        [name, c["n"], f"{100 * c['agree'] / c['n']:.0f}%", f"{100 * c['ours right'] / c['n']:.0f}%",
         f"{100 * c['lm-eval right'] / c['n']:.0f}%", c["ours invalid"], c["lm-eval invalid"]]
        for name, c in per_form.items()
    ]
    print(tabulate(table, headers=["form", "n", "agree", "ours right", "lm-eval right", "ours invalid", "lm-eval invalid"], tablefmt="github"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
