import pytest

from tasks import extract


@pytest.mark.parametrize(
    "text, expected",
    [
        ("\\boxed{42}", "42"),
        ("a \\boxed{1} then \\boxed{2}", "2"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\boxed{7} and an unclosed \\boxed{8", "7"),
        ("no box here", None),
        ("\\boxed{}", ""),
        ("}}}{{{\\boxed{", None),
    ],
)
def test_last_boxed(text, expected):
    assert extract.last_boxed(text) == expected


def test_last_tag():
    assert extract.last_tag("<answer>1</answer> x <answer>2 3</answer>", "answer") == "2 3"
    assert extract.last_tag("<answer>1", "answer") is None
    assert extract.last_tag("</answer>", "answer") is None


def test_paper_a_format_rule_ignores_whitespace_around_markup():
    assert extract.format_think_boxed("<think>x</think> so \\boxed{3}")
    assert extract.format_think_boxed("< think >x\n</ think >\\boxed{3}.")
    assert not extract.format_think_boxed("\\boxed{3}")
    assert not extract.format_think_boxed("<think>x</think> 3")


def test_think_answer_format():
    assert extract.format_think_answer("<think>a</think>\n<answer>1 2</answer>")
    assert not extract.format_think_answer("<think>a</think><answer>1 2</answer> trailing")


@pytest.mark.parametrize(
    "text, letters, expected",
    [
        ("B", "ABCD", "B"),
        ("(C)", "ABCD", "C"),
        ("D.", "ABCD", "D"),
        ("The answer is (A).", "ABCD", "A"),
        ("answer: B but the answer is C", "ABCD", "C"),
        ("B. triangle", "ABCD", "B"),
        ("E", "ABCD", None),  # outside the options: no answer, never remapped
        ("the answer is a cat", "ABCD", None),  # lower-case 'a' is a word, not an option
        ("I think it is B or C", "ABCD", None),
        ("", "ABCD", None),
    ],
)
def test_option_letter(text, letters, expected):
    assert extract.option_letter(text, letters) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("42", 42.0), (" -3.5 ", -3.5), ("1,234", 1234.0), ("$12", 12.0), ("50%", 50.0),
        ("7.", 7.0), ("3/4", 0.75), ("\\frac{1}{2}", 0.5), ("\\dfrac{3}{4}", 0.75),
        ("42 cm", None), ("x = 3", None), ("1/0", None), ("", None), ("abc", None),
    ],
)
def test_parse_number(text, expected):
    assert extract.parse_number(text) == expected


def test_last_number_takes_the_last():
    assert extract.last_number("The answer is 12, not 13") == 13.0
    assert extract.last_number("no digits") is None
    assert extract.last_number("area = 7.5 square units") == 7.5


def test_numbers_equal():
    assert extract.numbers_equal(7.5, 7.5000000001)
    assert not extract.numbers_equal(7.5, 7.6)


def test_normalize_and_yes_no():
    assert extract.normalize_text("The Red.") == "red"
    assert extract.yes_no("Yes, it is striped.") == "yes"
    assert extract.yes_no("no") == "no"
    assert extract.yes_no("maybe yes") is None


def test_helpers_survive_hostile_text():
    junk = "\\boxed{" * 20000 + "{" * 50000 + "\x00\xff" * 1000
    assert extract.last_boxed(junk) is None
    assert extract.option_letter(junk, "ABCD") is None
    assert extract.last_number(junk) is None
