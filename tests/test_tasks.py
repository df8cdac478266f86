import pytest

from harness.errors import HarnessError
from tasks import SEQUENCES, TASKS, get_task, resolve_sequence
from tasks.base import Sample

PROCEDURAL = sorted(n for n, cls in TASKS.items() if "data" not in cls.defaults)


def test_registry_has_the_procedural_suite():
    for name in SEQUENCES["toy7"]["sequence"] + SEQUENCES["toy7"]["general"] + ["jigsaw"]:
        assert name.split(":")[0] in TASKS


def test_unknown_task_gets_did_you_mean():
    with pytest.raises(HarnessError, match="did you mean 'toy_science'"):
        get_task("toy_scince")
    with pytest.raises(HarnessError, match="unknown task 'zzz'"):
        get_task("zzz")


def test_spec_parameters_and_canonical_name():
    assert get_task("jigsaw:grid=3").spec == "jigsaw"  # Paper B's 3x3 is the default
    assert get_task("jigsaw:mode=tiles,grid=2").spec == "jigsaw:grid=2,mode=tiles"
    with pytest.raises(HarnessError, match="no parameter 'size'"):
        get_task("jigsaw:size=3")
    with pytest.raises(HarnessError, match="not a int"):
        get_task("jigsaw:grid=three")
    with pytest.raises(HarnessError, match="prompt style"):
        get_task("toy_count:style=fancy")


def test_resolve_sequence():
    seq, general = resolve_sequence("toy3")
    assert seq == ["toy_science", "toy_spatial", "toy_count"] and general
    assert resolve_sequence("toy_count,jigsaw") == (["toy_count", "jigsaw"], [])
    with pytest.raises(HarnessError):
        resolve_sequence("toy_count,nope")
    assert resolve_sequence("jigsaw:grid=3,mode=tiles,toy_count:n_test=5,style=direct,toy_ocr")[0] == [
        "jigsaw:grid=3,mode=tiles", "toy_count:n_test=5,style=direct", "toy_ocr",
    ]


@pytest.mark.parametrize("name", PROCEDURAL)
def test_items_are_deterministic_and_prefix_stable(name):
    a = get_task(f"{name}:n_test=6").load("test")
    b = get_task(f"{name}:n_test=3").load("test")
    assert [s.id for s in a[:3]] == [s.id for s in b]
    assert [s.target for s in a[:3]] == [s.target for s in b]
    assert [s.images[0].tobytes() for s in a[:3] if s.images] == [s.images[0].tobytes() for s in b if s.images]
    assert len({s.id for s in a}) == 6
    train = get_task(f"{name}:n_train=3").load("train")
    assert [s.id for s in train] == ["train-00000", "train-00001", "train-00002"]


@pytest.mark.parametrize("name", PROCEDURAL)
def test_gold_answer_scores_one_and_noise_scores_zero(name):
    task = get_task(f"{name}:n_test=10")
    direct = get_task(f"{name}:n_test=10,style=direct")
    for s in task.load("test"):
        if name == "jigsaw":
            good = f"<think>tiles</think><answer>{s.target}</answer>"
        else:
            good = f"<think>look</think> so \\boxed{{{s.target}}}"
        sc = task.score(good, s)
        assert sc.value == 1.0 and sc.valid and sc.parts["fmt"] == 1.0, (good, sc)
        assert task.score("I do not know", s).valid is False
        assert task.score("I do not know", s).value == 0.0
    for s in direct.load("test"):
        assert direct.score(str(s.target), s).value == 1.0


def test_toy_scoring_by_kind():
    count = get_task("toy_count:n_test=1")
    s = count.load("test")[0]
    assert count.score(f"\\boxed{{{s.target}.0}}", s).value == 1.0
    assert count.score("\\boxed{There are 99 objects}", s).extracted == "99"
    vizwiz = get_task("toy_vizwiz:style=direct")
    sample = Sample("x", [], "unanswerable")
    assert vizwiz.score("Unanswerable.", sample).value == 1.0
    science = get_task("toy_science:style=direct")
    s = science.load("test")[0]
    assert "Answer with the option's text" in s.messages[0]["content"][-1]["text"] and s.target in s.meta["choices"]
    wrong = next(c for c in s.meta["choices"] if c != s.target)
    assert science.score(f"The {s.target.upper()}.", s).value == 1.0  # normalised: case, article, punctuation
    wrong_score = science.score(wrong, s)
    assert (wrong_score.value, wrong_score.extracted, wrong_score.valid) == (0.0, wrong, True)
    letter = "ABCD"[s.meta["choices"].index(s.target)]
    assert science.score(letter, s).valid is False  # a letter names no option's text
    assert science.score(f"{s.target} or {wrong}", s).valid is False
    mcq = get_task("toy_mcq10:n_test=1")
    s = mcq.load("test")[0]
    assert mcq.score(f"<think>sum</think> \\boxed{{{s.target}}}", s).value == 1.0 and len(s.meta["choices"]) == 10


def test_toy_spatial_is_one_row_of_three_shapes_left_to_right():
    """The shelf is 2·size wide and one 28-pixel token row high; the answer follows the shapes'
    x order in the picture."""
    from tasks.toy.common import COLORS

    task = get_task("toy_spatial:style=direct,n_test=24,image_size=112")
    for s in task.load("test"):
        img = s.images[0]
        assert img.size == (224, 28)
        question = s.messages[0]["content"][-1]["text"].splitlines()[0]
        words = question.split()
        first, second = words[2], words[-2]  # "Is the C1 S1 to the left or to the right of the C2 S2?"
        xs = {}
        for name in (first, second):
            rgb = COLORS[name]
            hits = [x for x in range(img.width) if img.getpixel((x, 14)) == rgb]
            assert hits, (s.id, name)
            xs[name] = sum(hits) / len(hits)
        assert s.target == ("left" if xs[first] < xs[second] else "right")


def test_every_toy_task_states_its_chance_level():
    from tasks import TASKS

    toy = [cls for name, cls in TASKS.items() if name.startswith("toy_")]
    assert len(toy) == 9 and all(0 < cls.chance <= 50 for cls in toy)


def test_jigsaw_permutation_restores_picture_and_partial_credit():
    task = get_task("jigsaw:grid=3,mode=tiles,n_test=2")
    s = task.load("test")[0]
    order = [int(x) for x in s.target.split()]
    shown = s.meta["shown"]
    assert [shown[k - 1] for k in order] == list(range(9))  # tile k placed at position p restores it
    assert len(s.images) == 9
    wrong = order[:]
    wrong[0], wrong[1] = wrong[1], wrong[0]
    sc = task.score("<think>t</think><answer>" + " ".join(map(str, wrong)) + "</answer>", s)
    assert sc.valid and sc.value == 0.0 and sc.parts["hit"] == pytest.approx(7 / 9)
    assert task.reward("<think>t</think><answer>" + s.target + "</answer>", s) == pytest.approx(3.0)
    assert task.score("<answer>1 2</answer>", s).valid is False
    composite = get_task("jigsaw:grid=2,n_test=1").load("test")[0]
    assert len(composite.images) == 1 and composite.images[0].size == (112, 112)
    default = get_task("jigsaw:n_test=1").load("test")[0]  # 3x3 by default: 112 // 3 * 3 pixels
    assert default.meta["grid"] == 3 and default.images[0].size == (111, 111)


def test_jigsaw_from_image_folder(tmp_path):
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (60, 40), (i * 80, 10, 200)).save(tmp_path / f"p{i}.png")
    task = get_task(f"jigsaw:source={tmp_path},n_test=4")
    assert len(task.load("test")) == 4
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(HarnessError, match="no image files"):
        get_task(f"jigsaw:source={empty}").load("test")


def test_reward_is_built_from_the_scorer():
    task = get_task("toy_count:n_test=3")
    for s in task.load("test"):
        for resp in (f"<think>x</think>\\boxed{{{s.target}}}", f"\\boxed{{{s.target}}}", "<think>x</think>\\boxed{0}", "junk"):
            sc = task.score(resp, s)
            assert task.reward(resp, s) == pytest.approx(0.9 * sc.parts["acc"] + 0.1 * sc.parts["fmt"])


def test_task_versions_are_bumped_with_their_definitions():
    from tasks import versions

    assert versions.problems() == [], (
        "bump the `version` of each task listed, then run `python -m tasks.versions --update`"
    )


def test_version_guard_sees_code_changes_but_not_docstrings():
    from tasks.versions import _code_only

    base = "def f(x):\n    'doc'\n    return x + 1\n"
    assert _code_only(base) == _code_only("def f(x):\n    'other doc'  \n    # note\n    return x + 1\n")
    assert _code_only(base) != _code_only("def f(x):\n    'doc'\n    return x + 2\n")


def test_split_specs_keeps_parameters_and_lm_eval_lists():
    from tasks import split_specs

    assert split_specs("jigsaw:grid=3,mode=tiles,toy_count") == ["jigsaw:grid=3,mode=tiles", "toy_count"]
    assert split_specs("lm-eval:arc_easy,arc_challenge,toy_mcq10,lm-eval:gsm8k") == [
        "lm-eval:arc_easy", "lm-eval:arc_challenge", "toy_mcq10", "lm-eval:gsm8k"]
    assert split_specs("toy_mcq10,arc_easy") == ["toy_mcq10", "arc_easy"]  # no lm-eval: prefix, no lm-eval task
