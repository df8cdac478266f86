"""`harness lab`: the statistics (hand-computed), the outcome sentence in every case, and one
small end-to-end lab (every method, two seeds, smaller stages) whose bundles the checker accepts
and the leaderboard lists in its toy track."""

from __future__ import annotations

import json
import math
import statistics

import pytest

from baselines.lab import LabConfig, outcome, interval


def test_interval_is_the_student_t_95_interval():
    ci = interval([1.0, 2.0, 3.0])  # mean 2, sd 1, t(0.975, 2) = 4.303
    assert ci["mean"] == 2.0 and ci["n"] == 3
    assert ci["lo"] == pytest.approx(2 - 4.303 / math.sqrt(3)) and ci["hi"] == pytest.approx(2 + 4.303 / math.sqrt(3))
    ci = interval([5.0, 7.0])  # sd sqrt(2), t(0.975, 1) = 12.706
    assert ci["lo"] == pytest.approx(6 - 12.706 * math.sqrt(2) / math.sqrt(2))
    assert interval([4.0]) == {"mean": 4.0, "lo": None, "hi": None, "n": 1}
    assert interval([None, float("nan")])["mean"] is None


def _fake(fms: dict[str, list[float]]) -> dict[str, list]:
    return {m: [({"seed": i}, {"metrics": {"fm": v}}) for i, v in enumerate(vals)] for m, vals in fms.items()}


def test_theoutcome_is_stated_whatever_it_is():
    sft_forgets = outcome(_fake({"sft": [-30.0, -25.0, -35.0], "grpo": [-2.0, -1.0, -3.0]}))
    assert sft_forgets["verdict"].startswith("SFT forgets more than GRPO at this scale")
    assert sft_forgets["fm_grpo_minus_sft"] == [28.0, 24.0, 32.0]
    grpo_forgets = outcome(_fake({"sft": [-2.0, -1.0, -3.0], "grpo": [-30.0, -25.0, -35.0]}))
    assert grpo_forgets["verdict"].startswith("GRPO forgets more than SFT at this scale")
    unresolved = outcome(_fake({"sft": [-10.0, -2.0, -6.0], "grpo": [-4.0, -8.0, -6.0]}))
    assert unresolved["verdict"].startswith("no difference in forgetting is resolved") and "contains 0" in unresolved["verdict"]
    one = outcome(_fake({"sft": [-10.0], "grpo": [-4.0]}))
    assert "one seed gives no interval" in one["verdict"]
    assert outcome(_fake({"sft": [-10.0]})) is None


@pytest.mark.slow
def test_a_small_lab_end_to_end(tmp_path):
    """Every method over a two-task sequence, two seeds, stages cut to a few steps: the report,
    plots and lab.json are written; every bundle is accepted by `harness check` and listed in the
    leaderboard's toy track; a second lab from scratch with the same seeds gives the same figures."""
    from baselines.lab import run_lab
    from harness.check.checker import check_bundle
    from leaderboard.build import build_site

    small = {"n_train": 8, "epochs": 1.0, "per_task_epochs": {}, "per_device_batch_size": 8, "save_steps": 1000}
    cfg = LabConfig(sequence="toy_science,toy_count", seeds=(0, 1), limit=6, overrides=small,
                    base_recipe={"n_general": 64, "n_task": 16, "epochs": 2.0})
    summary = run_lab(tmp_path / "lab", cfg, tmp_path / "store", progress=False)
    lab = tmp_path / "lab"
    assert sorted((r["method"], r["seed"]) for r in summary["runs"]) == sorted((m, s) for m in cfg.methods for s in (0, 1))
    for name in ("report.md", "lab.json", "matrices.png", "tasks_across_stages.png"):
        assert (lab / name).is_file(), name
    report = (lab / "report.md").read_text()
    assert "## Outcome" in report and summary["outcome"]["verdict"] in report
    assert "Stability across seeds: FM(GRPO) − FM(SFT) per seed" in report and summary["outcome"]["stability"] in report and f"Run with {summary['threads']} torch thread" in report
    assert "## What the base knows and what each stage learns" in report
    gains = summary["learning"]["sft"]["gains"]
    assert [g["task"] for g in gains] == ["toy_science:style=direct", "toy_count:style=direct"] and gains[0]["gain"]["n"] == 2
    assert gains[0]["after"]["mean"] == pytest.approx(statistics.fmean(
        r["accuracy"][1][0] for r in summary["runs"] if r["method"] == "sft"))
    assert summary["methods"]["sft"]["avg_acc"]["n"] == 2 and summary["methods"]["sft"]["avg_acc"]["lo"] is not None
    for key in ("mft", "mfn", "maa", "bwt"):
        assert key in summary["methods"]["grpo"]
    assert len(summary["rif"]["stages"]) == 2 and summary["perplexity_probe"]["toy_science"]["sft_gold"] > 1.0
    bundles = sorted((lab / "bundles").glob("*.tar.gz"))
    assert len(bundles) == 10
    for b in bundles:
        verdict = check_bundle(b)
        assert verdict.accepted, [p.line() for p in verdict.problems]
    site = build_site(lab / "bundles", tmp_path / "site")
    assert len(site["tracks"]["toy"]) == 10

    again = run_lab(tmp_path / "lab2", cfg, tmp_path / "store2", progress=False)
    key = lambda s: sorted((r["method"], r["seed"], json.dumps(r["accuracy"])) for r in s["runs"])  # noqa: E731
    assert key(again) == key(summary)
    assert [r["fingerprints"] for r in sorted(again["runs"], key=lambda r: (r["method"], r["seed"]))] == \
        [r["fingerprints"] for r in sorted(summary["runs"], key=lambda r: (r["method"], r["seed"]))]


def test_stage_settings_reach_the_config_and_overrides_win(tmp_path):
    """The lab's per-method settings land in the config it trains with; `overrides` come last; a
    setting that is no key of the method's config fails before any base is built, and one of the
    wrong type in one line."""
    from baselines.lab import lab_config, run_lab
    from baselines.stage_configs import SFTConfig
    from tasks.errors import HarnessError

    conf = lab_config("sft", 3, None, {"learning_rate": 1e-3, "epochs": 6}, {"epochs": 1.0, "beta": 0.5})
    assert type(conf) is SFTConfig and (conf.learning_rate, conf.epochs, conf.seed) == (1e-3, 1.0, 3)
    assert isinstance(lab_config("sft", 0, None, {"epochs": 6}, {}).epochs, float)  # an int setting becomes the float it configures
    with pytest.raises(HarnessError, match="learning_rate = 'fast' is not a float"):
        lab_config("sft", 0, None, {"learning_rate": "fast"}, {})
    cfg = LabConfig(sequence="toy_count", methods=("sft",), seeds=(0,), stage_settings={"sft": {"lerning_rate": 1e-3}})
    with pytest.raises(HarnessError, match="lerning_rate"):
        run_lab(tmp_path / "lab", cfg, tmp_path / "store", progress=False)
    assert not (tmp_path / "lab" / "base").exists()


def test_every_grpo_variant_runs_in_the_lab_with_grpos_stage_settings():
    """`--methods all` names every lab method in running order; each GRPO variant trains with the
    GRPO stages' settings and keeps the value that makes it a variant."""
    from baselines.lab import lab_config
    from baselines.lab.config import ALL_METHODS, order

    assert order(("all",)) == list(ALL_METHODS) and order(("rollout-sft", "grpo")) == ["grpo", "rollout-sft"]
    settings = LabConfig().stage_settings
    grpo = lab_config("grpo", 1, None, settings["grpo"], {})
    for method, key, value in (("grpo-nokl", "beta", 0.0), ("grpo-unscaled", "scale_rewards", "none"),
                               ("grpo-batch-scaled", "scale_rewards", "batch"), ("remax", "estimator", "remax"),
                               ("grpo-nocot", "style", "no_cot")):
        conf = lab_config(method, 1, None, settings[method], {})
        assert getattr(conf, key) == value and getattr(grpo, key) != value
        assert (conf.learning_rate, conf.n_train, conf.seed) == (grpo.learning_rate, grpo.n_train, 1) == (3e-4, 128, 1)


def test_the_shipped_base_is_checked_by_fingerprint(tmp_path, monkeypatch):
    """The committed base matches its recorded fingerprint; a changed byte, a missing folder, a
    task changed since the base was trained, or an earlier lab's base that is not the shipped one
    each stop the lab in one line."""
    import shutil

    from baselines.lab import base as lab_base
    from baselines.lab.run import place_base
    from tasks.errors import HarnessError

    assert lab_base.shipped_base() == lab_base.SHIPPED
    rec = lab_base.recipe()
    assert rec["spec"]["hidden_size"] // rec["spec"]["num_heads"] >= 32  # vLLM's CPU build serves head size 32 and up
    assert sum(p.stat().st_size for p in lab_base.SHIPPED.iterdir()) < 25_000_000
    copy = tmp_path / "lab_base"
    shutil.copytree(lab_base.SHIPPED, copy)
    monkeypatch.setattr(lab_base, "SHIPPED", copy)
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (copy / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(HarnessError, match="not the recorded"):
        lab_base.shipped_base()
    monkeypatch.setattr(lab_base, "SHIPPED", tmp_path / "absent")
    with pytest.raises(HarnessError, match="missing"):
        lab_base.shipped_base()
    monkeypatch.undo()
    # A task changed since the base was built: the base must be rebuilt, not used as it is.
    from tasks.toy.ocr import ToyOcr

    monkeypatch.setattr(ToyOcr, "version", "999")
    with pytest.raises(HarnessError, match="trained on toy_ocr version 6, and toy_ocr is now version 999"):
        lab_base.shipped_base()
    monkeypatch.undo()
    placed = place_base(tmp_path / "lab" / "base", LabConfig(), progress=False)
    assert sorted(p.name for p in placed.iterdir()) == sorted(p.name for p in lab_base.SHIPPED.iterdir())
    (placed / "config.json").write_text((placed / "config.json").read_text() + " ")
    with pytest.raises(HarnessError, match="another base than the shipped one"):
        place_base(placed, LabConfig(), progress=False)


def test_the_instruction_stage_leaves_out_withheld_answers():
    """A withheld gold answer never reaches the base, in either style; the other items do, and
    the shipped recipe's withheld answers are real answers of their task."""
    from baselines.instruct_base import instruction_pairs
    from baselines.lab import base as lab_base
    from tasks import get_task

    drawn = [s.target for s in get_task("toy_science:seed=1,n_train=32").load("train")]
    pairs = instruction_pairs({"toy_science": 32}, {"toy_science": ["diamond"]})
    kept = [sample.target for _, sample, _ in pairs]
    assert "diamond" in drawn and "diamond" not in kept
    assert len(kept) == 2 * sum(t != "diamond" for t in drawn)
    assert {task.style for task, _, _ in pairs} == {"cot", "direct"}
    assert len(instruction_pairs({"toy_science": 32}, {})) == 2 * len(drawn)
    for name, answers in lab_base.recipe().get("withheld", {}).items():
        assert set(answers) <= {s.target for s in get_task(f"{name}:seed=1,n_train=256").load("train")}


def test_a_base_built_with_withheld_answers_is_not_reused_without_them(tmp_path):
    import json

    from baselines.instruct_base import RECIPE, _check_recipe
    from tasks.errors import HarnessError

    recipe = {"seed": 0, "epochs": 3.0, "learning_rate": 1e-3, "mix": {"toy_science": 8}}
    (tmp_path / RECIPE).write_text(json.dumps(recipe | {"withheld": {"toy_science": ["circle"]}}))
    with pytest.raises(HarnessError, match=r"another recipe \(withheld: .*, not None\)"):
        _check_recipe(tmp_path, recipe)
    _check_recipe(tmp_path, recipe | {"withheld": {"toy_science": ["circle"]}})


def test_stability_counts_the_seeds_that_share_the_mean_sign():
    from baselines.lab.stats import sign_agreement

    assert sign_agreement([5.0, 2.0, -1.0]) == "2 of 3 seeds have the sign of the mean (+)"
    assert sign_agreement([-5.0, 0.0, -1.0]) == "2 of 3 seeds have the sign of the mean (-)"
    assert sign_agreement([1.0, -1.0]) == "the mean over 2 seeds is 0"
