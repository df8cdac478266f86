"""Answer extraction shared by every task.

Each helper is a pure function of text that never raises and runs in time linear in the input.
The docstrings state what is normalised and which match wins. A helper returns None when it
finds nothing: callers count that as an invalid (unparseable) answer, which scores 0. Nothing
here ever guesses.
"""

from __future__ import annotations

import re
import string

_BOXED = "\\boxed{"
# Paper A's rule is `re.sub(r"\s*(<|>|/)\s*", r"\1", text)`, which backtracks quadratically over
# long whitespace runs; this pair of patterns removes exactly the same whitespace in linear time:
# a maximal run just before a markup character, and a run just after one.
PAPER_WS_PATTERN = r"\s*(<|>|/)\s*"
_WS_AROUND_MARKUP = re.compile(r"(?<!\s)\s++(?=[<>/])|(?<=[<>/])\s+")
# The papers' format rules are written as backtracking regexes (`THINK_BOXED_PATTERN`,
# `THINK_ANSWER_PATTERN`, full match, dot matching newline) that take seconds on long responses;
# the functions below decide the same language with a few linear scans.
THINK_BOXED_PATTERN = r"<think>.*</think>.*\\boxed\{.*\}.*"
THINK_ANSWER_PATTERN = r"<think>.*</think>\s*<answer>.*</answer>"
_THINK_CLOSE_ANSWER = re.compile(r"</think>\s*<answer>")


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` whose braces balance, or None.

    Braces nest: `\\boxed{\\frac{1}{2}}` gives `\\frac{1}{2}`. An unclosed `\\boxed{` is skipped
    in favour of an earlier closed one. Content is returned as written, without stripping.
    """
    if _BOXED not in text:
        return None
    close_of: dict[int, int] = {}
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            close_of[stack.pop()] = i
    pos = text.rfind(_BOXED)
    while pos != -1:
        open_brace = pos + len(_BOXED) - 1
        if open_brace in close_of:
            return text[open_brace + 1 : close_of[open_brace]]
        pos = text.rfind(_BOXED, 0, pos)
    return None


def last_tag(text: str, tag: str) -> str | None:
    """Content of the last complete `<tag>...</tag>` pair, or None.

    "Last" means the last closing tag and the nearest opening tag before it; tag names are
    matched exactly (case-sensitive); the content is returned as written.
    """
    close = text.rfind(f"</{tag}>")
    if close == -1:
        return None
    opening = f"<{tag}>"
    start = text.rfind(opening, 0, close)
    if start == -1:
        return None
    return text[start + len(opening) : close]


def strip_markup_whitespace(text: str) -> str:
    """Paper A's response clean-up: whitespace around `<`, `>` and `/` removed
    (`< / think >` becomes `</think>`, `4 / 5` becomes `4/5`)."""
    return _WS_AROUND_MARKUP.sub("", text)


def format_think_boxed(text: str, cleaned: bool = False) -> bool:
    """Paper A's format rule: after `strip_markup_whitespace` (skipped when `cleaned` says the
    text has been through it), the whole response matches `<think>.*</think>.*\\boxed{.*}.*`
    (dot matches newline)."""
    text = text if cleaned else strip_markup_whitespace(text)
    # Full match of THINK_BOXED_PATTERN: "<think>" at the start, a "</think>" after it, a
    # "\boxed{" after that and a "}" after that. Taking the earliest of each is never worse.
    if not text.startswith("<think>"):
        return False
    close = text.find("</think>", len("<think>"))
    if close == -1:
        return False
    box = text.find(_BOXED, close + len("</think>"))
    return box != -1 and text.find("}", box + len(_BOXED)) != -1


ROLLOUT_FILTER_PATTERN = r"<think>.*?</think>\s*\\boxed\{(.*?)\}"
_THINK_CLOSE_BOXED = re.compile(r"</think>\s*\\boxed\{")


def rollout_filter_answer(text: str) -> str | None:
    """What Paper A's RIF filter (`rollout_filter.py`) reads from a rollout: the group of
    `re.search(ROLLOUT_FILTER_PATTERN, text.strip(), re.DOTALL)`, i.e. after the first "<think>",
    the first "</think>" followed by optional whitespace and "\\boxed{", and the text from there to
    the first "}" (braces do not nest: "\\boxed{\\frac{1}{2}}" gives "\\frac{1"); None without such
    a shape. Computed in linear time (the regex rescans from every "<think>")."""
    text = text.strip()
    start = text.find("<think>")
    if start == -1:
        return None
    m = _THINK_CLOSE_BOXED.search(text, start + len("<think>"))
    if m is None:
        return None
    close = text.find("}", m.end())
    return None if close == -1 else text[m.end() : close]


def format_think_answer(text: str) -> bool:
    """Paper B's format rule: the stripped response is `<think>…</think>` followed by
    `<answer>…</answer>` and nothing else (dot matches newline)."""
    # Full match of THINK_ANSWER_PATTERN: "<think>" at the start, "</answer>" at the end, and
    # between them a "</think>", whitespace, "<answer>". The earliest such junction after the
    # opening tag ends first, so it alone decides whether "</answer>" still fits after it.
    text = text.strip()
    if not (text.startswith("<think>") and text.endswith("</answer>")):
        return False
    for m in _THINK_CLOSE_ANSWER.finditer(text, len("<think>")):
        return m.end() <= len(text) - len("</answer>")
    return False


_LETTER_ALONE = re.compile(r"^\s*[\(\[]?\s*([A-Z])\s*[\)\]]?\s*[.:]?\s*$")
_LETTER_ANSWER_IS = re.compile(r"(?i:answer)\s*(?i:is|:)\s*:?\s*[\(\[]?([A-Z])\b")
_LETTER_LEADING = re.compile(r"^\s*[\(\[]?([A-Z])[\)\].:]\s")


def option_letter(text: str, letters: str) -> str | None:
    """The option letter a response chose, or None. Letters are upper case; `letters` lists the
    valid ones (e.g. "ABCD").

    Rules, first that applies wins:
    1. the whole text is one letter, optionally in parentheses or brackets and followed by
       `.` or `:` ("B", "(B)", "B.");
    2. the last "answer is X" / "answer: X" / "answer is (X)" (case-insensitive "answer",
       upper-case letter);
    3. the text starts with a letter and `.`, `)`, `]` or `:` then a space ("B. cat").
    A letter outside `letters` is no answer (None), never remapped.
    """
    found = None
    m = _LETTER_ALONE.match(text)
    if m:
        found = m.group(1)
    else:
        hits = _LETTER_ANSWER_IS.findall(text)
        if hits:
            found = hits[-1]
        else:
            m = _LETTER_LEADING.match(text)
            if m:
                found = m.group(1)
    return found if found is not None and found in letters else None


_NUMBER = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)?|-?\.\d+")
_FRAC = re.compile(r"^\\[dt]?frac\{(-?[\d.]+)\}\{(-?[\d.]+)\}$")


def parse_number(text: str) -> float | None:
    """The number the whole text states, or None.

    Normalised first: surrounding whitespace, `$` signs and a trailing `.` or `%` are dropped,
    thousands separators (`1,234`) removed. Accepted forms: integers, decimals, `a/b` and
    `\\frac{a}{b}` (also `\\dfrac`, `\\tfrac`), with an optional leading minus. Text with anything
    else ("42 cm", "x = 3") is None: use `last_number` to pick a number out of prose.
    """
    s = text.strip().replace("$", "").strip()
    if s.endswith("%") or (s.endswith(".") and not s.endswith("..")):
        s = s[:-1].strip()
    m = _FRAC.match(s)
    if m:
        return _ratio(m.group(1), m.group(2))
    if not _NUMBER.fullmatch(s):
        return None
    return _to_float(s)


def last_number(text: str) -> float | None:
    """The last number written anywhere in the text (same forms as `parse_number` except
    `\\frac`), or None. "The answer is 12, not 13" gives 13: the last match wins."""
    last = None
    for m in _NUMBER.finditer(text):
        last = m.group(0)
    return None if last is None else _to_float(last)


def _to_float(s: str) -> float | None:
    s = s.replace(",", "").replace(" ", "")
    if "/" in s:
        num, den = s.split("/", 1)
        return _ratio(num, den)
    try:
        return float(s)
    except ValueError:
        return None


def _ratio(num: str, den: str) -> float | None:
    try:
        d = float(den)
        return None if d == 0 else float(num) / d
    except ValueError:
        return None


def numbers_equal(a: float, b: float, rel_tol: float = 1e-6) -> bool:
    """Equal within a relative tolerance of 1e-6 (absolute 1e-9 near zero)."""
    return abs(a - b) <= max(rel_tol * max(abs(a), abs(b)), 1e-9)


_ARTICLES = {"a", "an", "the"}
_PUNCT = str.maketrans({c: " " for c in string.punctuation})


def normalize_text(text: str) -> str:
    """Lower-case, punctuation replaced by spaces, articles (a, an, the) dropped, whitespace
    collapsed. "The Red." and "red" both give "red"."""
    words = text.lower().translate(_PUNCT).split()
    return " ".join(w for w in words if w not in _ARTICLES)


def yes_no(text: str) -> str | None:
    """"yes" or "no" when the normalised text is exactly that word or starts with it followed
    by more words ("Yes, it is striped."); otherwise None."""
    words = normalize_text(text).split()
    if words and words[0] in ("yes", "no"):
        return words[0]
    return None
