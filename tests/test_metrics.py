import math

import pytest

from harness.results import metrics

# Rows: stages 0..3 (base, after t1, after t2, after t3); columns t1, t2, t3 then a general task.
A = [
    [10.0, 20.0, 30.0, 50.0],
    [80.0, 25.0, 30.0, 45.0],
    [60.0, 90.0, 35.0, 40.0],
    [50.0, 70.0, 95.0, 30.0],
]


def test_avg_acc_is_mean_of_final_row_over_trained_tasks():
    assert metrics.avg_acc(A, 3) == pytest.approx((50 + 70 + 95) / 3)


def test_fm_and_bwt_by_hand():
    # a[T][i] - a[i][i]: t1: 50-80 = -30, t2: 70-90 = -20 -> mean -25
    assert metrics.fm(A, 3) == pytest.approx(-25.0)
    assert metrics.bwt(A, 3) == pytest.approx(-25.0)


def test_classic_forgetting_takes_max_over_trained_stages_before_last_not_the_base():
    # Chaudhry et al.: max over stages 1..T-1. t1: max(80, 60) - 50 = 30; t2: max(25, 90) - 70 = 20 -> 25
    assert metrics.forgetting(A, 3) == pytest.approx(25.0)
    B = [[90.0, 0.0], [40.0, 0.0], [30.0, 50.0]]  # the base was best on t1: it does not count
    assert metrics.forgetting(B, 2) == pytest.approx(40.0 - 30.0)
    assert metrics.fm(B, 2) == pytest.approx(30.0 - 40.0)
    # A run that never forgets what it learned but lost what the base knew: forgetting 0.
    C = [[60.0, 10.0, 10.0], [20.0, 10.0, 10.0], [20.0, 70.0, 10.0], [20.0, 70.0, 80.0]]
    assert metrics.forgetting(C, 3) == pytest.approx(0.0)
    assert metrics.fm(C, 3) == pytest.approx(0.0)


def test_mft_mfn_maa_by_hand():
    # diagonal a[1][t1], a[2][t2], a[3][t3] = 80, 90, 95
    assert metrics.mft(A, 3) == pytest.approx((80 + 90 + 95) / 3)
    # final row over trained tasks = AvgAcc
    assert metrics.mfn(A, 3) == pytest.approx((50 + 70 + 95) / 3) == metrics.avg_acc(A, 3)
    # stage 1: 80; stage 2: (60 + 90)/2 = 75; stage 3: (50 + 70 + 95)/3 = 71.667 -> mean 75.556
    assert metrics.maa(A, 3) == pytest.approx((80 + 75 + 215 / 3) / 3)
    one = [[10.0, 40.0], [60.0, 35.0]]
    assert metrics.mft(one, 1) == metrics.maa(one, 1) == pytest.approx(60.0)
    every = metrics.sequence_metrics(A, 3)
    assert set(every) == set(metrics.METRIC_KEYS) and every["maa"] == metrics.maa(A, 3)
    assert set(metrics.METRIC_KEYS) <= set(metrics.DEFINITIONS)


def test_forward_transfer_by_hand():
    # a[i-1][i] - a[0][i] for tasks 2..3: t2: 25-20 = 5, t3: 35-30 = 5
    assert metrics.fwt(A, 3) == pytest.approx(5.0)


def test_single_stage_sequence_has_no_forgetting_metrics():
    one = [[10.0, 40.0], [60.0, 35.0]]
    assert metrics.avg_acc(one, 1) == pytest.approx(60.0)
    assert metrics.fm(one, 1) is None
    assert metrics.forgetting(one, 1) is None
    assert metrics.fwt(one, 1) is None


def test_never_trained_column_does_not_enter_sequence_metrics():
    changed = [row[:3] + [0.0] for row in A]
    assert metrics.fm(changed, 3) == metrics.fm(A, 3)
    assert metrics.avg_acc(changed, 3) == metrics.avg_acc(A, 3)


def test_incomplete_block_is_rejected():
    with pytest.raises(ValueError):
        metrics.fm([[1.0, 2.0], [3.0, None]], 2)


def test_paired_bootstrap_delta():
    base = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]
    final = [1, 1, 1, 1, 1, 0, 1, 0, 1, 0]
    d = metrics.paired_bootstrap_delta(base, final, seed=0)
    assert d["base"] == pytest.approx(50.0) and d["final"] == pytest.approx(70.0)
    assert d["delta"] == pytest.approx(20.0)
    assert d["ci_low"] <= 20.0 <= d["ci_high"]
    assert d["ci_low"] >= 0.0  # no pair ever gets worse, so no resample can be negative
    same = metrics.paired_bootstrap_delta(base, base)
    assert same["ci_low"] == same["ci_high"] == 0.0
    assert metrics.paired_bootstrap_delta(base, final, seed=0) == d
    assert not math.isnan(d["ci_high"])
