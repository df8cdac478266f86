"""The VQA answer normalisation and soft accuracy, as the official VQA evaluation defines them
(used by TextVQA and VizWiz under the `official` protocol).

`vqa_normalize(text)`, in this order:
1. newlines and tabs become spaces; surrounding whitespace is stripped;
2. punctuation: each of ``; / [ ] " { } ( ) = + \\ _ - > < @ ` , ? !`` is deleted when it
   touches a space or the text holds a digit-comma-digit group, and becomes a space otherwise;
   then every `.` not followed by a digit is deleted ("3.5" keeps its point, "yes." loses it);
3. lower case; number words zero…ten become digits ("none" becomes "0", as in the official
   table); the articles a, an, the are dropped; contractions written without an apostrophe get
   it back ("dont" -> "don't"); words are joined by single spaces.

`vqa_soft_accuracy(pred, answers)`: the official score over the human answers: for each answer
i, min(1, matches among the *other* answers / 3); the mean over i. With ten answers, a
prediction given by three or more annotators scores 1 and one given by two scores 0.6.
Every answer and the prediction are normalised first (the official code normalises only when
annotators disagree; normalising always differs only when all ten agree on an unnormalised
form, and then the prediction must match it exactly there, which this version relaxes).
"""

from __future__ import annotations

import re

_PUNCT = [";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"]
_COMMA_DIGITS = re.compile(r"(\d)(,)(\d)")
_PERIOD = re.compile(r"\.(?!\d)")  # the official pattern's look-behind is a typo that never applies
_NUMBERS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}
_ARTICLES = {"a", "an", "the"}
# Contractions annotators typed without the apostrophe, mapped back to their spelling.
_CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
    "didnt": "didn't", "doesnt": "doesn't", "dont": "don't", "hadnt": "hadn't", "hasnt": "hasn't",
    "havent": "haven't", "hed": "he'd", "hes": "he's", "howd": "how'd", "howll": "how'll",
    "hows": "how's", "isnt": "isn't", "itd": "it'd", "itll": "it'll",
    "lets": "let's", "maam": "ma'am", "mightnt": "mightn't", "mightve": "might've", "mustnt": "mustn't",
    "mustve": "must've", "neednt": "needn't", "notve": "not've", "oclock": "o'clock", "oughtnt": "oughtn't",
    "shant": "shan't", "shed": "she'd", "shes": "she's", "shouldve": "should've", "shouldnt": "shouldn't",
    "somebodyd": "somebody'd", "somebodys": "somebody's", "someoned": "someone'd", "someones": "someone's",
    "somethingd": "something'd", "somethings": "something's", "thered": "there'd", "theres": "there's",
    "theyd": "they'd", "theyll": "they'll", "theyre": "they're", "theyve": "they've", "twas": "'twas",
    "wasnt": "wasn't", "wed": "we'd", "weve": "we've", "werent": "weren't", "whatll": "what'll",
    "whatre": "what're", "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "wholl": "who'll", "whos": "who's",
    "whove": "who've", "whyll": "why'll", "whyre": "why're", "whys": "why's", "wont": "won't",
    "wouldve": "would've", "wouldnt": "wouldn't", "yall": "y'all", "youd": "you'd", "youll": "you'll",
    "youre": "you're", "youve": "you've",
}


def vqa_normalize(text: str) -> str:
    """The official VQA answer normalisation (steps in the module docstring)."""
    text = text.replace("\n", " ").replace("\t", " ").strip()
    out = text
    strip_all = _COMMA_DIGITS.search(text) is not None
    for p in _PUNCT:
        if strip_all or p + " " in text or " " + p in text:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    out = _PERIOD.sub("", out)
    words = []
    for word in out.lower().split():
        word = _NUMBERS.get(word, word)
        if word in _ARTICLES:
            continue
        words.append(_CONTRACTIONS.get(word, word))
    return " ".join(words)


def vqa_soft_accuracy(pred: str, answers: list[str]) -> float:
    """The official soft accuracy of `pred` against the human `answers` (module docstring)."""
    if not answers:
        return 0.0
    p = vqa_normalize(pred)
    gold = [vqa_normalize(a) for a in answers]
    total = 0.0
    for i in range(len(gold)):
        matches = sum(1 for j, g in enumerate(gold) if j != i and g == p)
        total += min(1.0, matches / 3)
    return total / len(gold)


def most_common_answer(answers: list[str]) -> str:
    """The answer given most often (after normalisation); ties go to the one listed first. Used
    as the single gold answer where a task needs one (the `paper` protocol)."""
    counts: dict[str, int] = {}
    first: dict[str, str] = {}
    for a in answers:
        key = vqa_normalize(a)
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, a.strip())
    best = max(counts, key=lambda k: (counts[k], -list(counts).index(k)))
    return first[best]
