"""The VQA accuracy of the official VQA evaluation code, rule for rule (used by TextVQA and
VizWiz under the `official` protocol).

Reference: GT-Vision-Lab/VQA, `PythonEvaluationTools/vqaEvaluation/vqaEval.py` at the
repository's head, commit a013f0043c1e2cdc995922dfe257f7149aa9af06 (2021-03-11, "Fixed
processing answers bug"; `VQAEval.evaluate`, `processPunctuation`, `processDigitArticle`). What it
does, and so what this module does:

The prediction and every human answer: newlines and tabs become spaces and surrounding
whitespace is stripped. Then, only when the (stripped) human answers are not all identical, the
prediction and each answer go through both steps below; when they are all identical, all are
compared as they are (so "Dakota" or "dakota." never equals ten stripped "dakota"):
1. punctuation (`vqa_punctuation`): for each of ``; / [ ] " { } ( ) = + \\ _ - > < @ ` , ? !``
   in that order: if the *original* text has that character next to a space, or holds a
   digit-comma-digit group anywhere, the character is deleted, otherwise it becomes a space;
   then a `.` not followed by a digit is deleted, at most 32 times (the reference passes
   `re.UNICODE`, which is 32, as the `count` argument of `sub`);
2. digits and articles (`vqa_digits_articles`): lower case, split on whitespace; number words
   zero…ten become digits ("none" becomes "0"); the words a, an, the are dropped; a word that is
   a key of the reference's contraction table (`CONTRACTIONS`, copied entry for entry, including
   its entries that can never match after lower-casing and its reversed "somebody'd") is
   replaced by its value; words are joined by single spaces.
(Before a013f00 the prediction always went through both steps and the answers through step 1
only, unstripped; `official` follows the current code.)
Accuracy: for each answer i, min(1, number of the *other* answers equal to the prediction / 3);
the mean over i. (The reference's answers are records with distinct `answer_id`s, so "the other
answers" are the other positions even when two answers have the same text.)
"""

from __future__ import annotations

import re

PUNCTUATION = [";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"]
_COMMA_DIGITS = re.compile(r"(\d)(,)(\d)")
# The reference's pattern is "(?!<=\d)(\.)(?!\d)": its first group is a look-ahead for the
# text "<=" + digit (a typo for a look-behind), which can never hold before a ".", so it is inert.
_PERIOD = re.compile(r"\.(?!\d)")
_PERIOD_COUNT = 32  # re.UNICODE, passed where `sub` takes its count
NUMBER_WORDS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}
ARTICLES = ("a", "an", "the")
CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
    "couldn'tve": "couldn't've", "couldnt've": "couldn't've", "didnt": "didn't", "doesnt": "doesn't",
    "dont": "don't", "hadnt": "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've",
    "hasnt": "hasn't", "havent": "haven't", "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've",
    "hes": "he's", "howd": "how'd", "howll": "how'll", "hows": "how's", "Id've": "I'd've",
    "I'dve": "I'd've", "Im": "I'm", "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've",
    "it'dve": "it'd've", "itll": "it'll", "let's": "let's", "maam": "ma'am", "mightnt": "mightn't",
    "mightnt've": "mightn't've", "mightn'tve": "mightn't've", "mightve": "might've", "mustnt": "mustn't",
    "mustve": "must've", "neednt": "needn't", "notve": "not've", "oclock": "o'clock",
    "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at",
    "shant": "shan't", "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's",
    "shouldve": "should've", "shouldnt": "shouldn't", "shouldnt've": "shouldn't've",
    "shouldn'tve": "shouldn't've", "somebody'd": "somebodyd", "somebodyd've": "somebody'd've",
    "somebody'dve": "somebody'd've", "somebodyll": "somebody'll", "somebodys": "somebody's",
    "someoned": "someone'd", "someoned've": "someone'd've", "someone'dve": "someone'd've",
    "someonell": "someone'll", "someones": "someone's", "somethingd": "something'd",
    "somethingd've": "something'd've", "something'dve": "something'd've", "somethingll": "something'll",
    "thats": "that's", "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've",
    "therere": "there're", "theres": "there's", "theyd": "they'd", "theyd've": "they'd've",
    "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're", "theyve": "they've",
    "twas": "'twas", "wasnt": "wasn't", "wed've": "we'd've", "we'dve": "we'd've", "weve": "we've",
    "werent": "weren't", "whatll": "what'll", "whatre": "what're", "whats": "what's",
    "whatve": "what've", "whens": "when's", "whered": "where'd", "wheres": "where's",
    "whereve": "where've", "whod": "who'd", "whod've": "who'd've", "who'dve": "who'd've",
    "wholl": "who'll", "whos": "who's", "whove": "who've", "whyll": "why'll", "whyre": "why're",
    "whys": "why's", "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't",
    "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll",
    "y'allll": "y'all'll", "yall'd've": "y'all'd've", "y'alld've": "y'all'd've",
    "y'all'dve": "y'all'd've", "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've",
    "youll": "you'll", "youre": "you're", "youve": "you've",
}


def vqa_punctuation(text: str) -> str:
    """Step 1 of the module docstring (the reference's `processPunctuation`)."""
    out = text
    strip_all = _COMMA_DIGITS.search(text) is not None
    for p in PUNCTUATION:
        if p + " " in text or " " + p in text or strip_all:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD.sub("", out, count=_PERIOD_COUNT)


def vqa_digits_articles(text: str) -> str:
    """Step 2 of the module docstring (the reference's `processDigitArticle`)."""
    words = [NUMBER_WORDS.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in ARTICLES]
    return " ".join(CONTRACTIONS.get(w, w) for w in words)


def vqa_prediction(text: str) -> str:
    """A text as the reference compares it when the answers disagree: whitespace clean-up, steps
    1 and 2."""
    return vqa_digits_articles(vqa_punctuation(_whitespace(text)))


def _whitespace(text: str) -> str:
    return text.replace("\n", " ").replace("\t", " ").strip()


def vqa_soft_accuracy(pred: str, answers: list[str]) -> float:
    """The reference's accuracy of `pred` against the human `answers` (module docstring). With
    fewer than two answers the formula has no other annotators and gives 0: callers must not
    use it on single-answer data (`tasks.textvqa.VQATask` refuses it)."""
    if not answers:
        return 0.0
    p = _whitespace(pred)
    gold = [_whitespace(a) for a in answers]
    if len(set(gold)) > 1:
        p = vqa_digits_articles(vqa_punctuation(p))
        gold = [vqa_digits_articles(vqa_punctuation(a)) for a in gold]
    total = 0.0
    for i in range(len(gold)):
        matches = sum(1 for j, g in enumerate(gold) if j != i and g == p)
        total += min(1.0, matches / 3)
    return total / len(gold)


def most_common_answer(answers: list[str]) -> str:
    """The answer given most often (after `vqa_prediction`'s normalisation); ties go to the one
    listed first. Used as the single gold answer where a task needs one (the `paper` protocol)."""
    counts: dict[str, int] = {}
    first: dict[str, str] = {}
    for a in answers:
        key = vqa_prediction(a)
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, a.strip())
    best = max(counts, key=lambda k: (counts[k], -list(counts).index(k)))
    return first[best]
