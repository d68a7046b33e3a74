"""The statistics against scipy and hand-checked values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rudder.ab.analysis import compare, verdict
from rudder.ab.results import Row
from rudder.ab.stats import holm, mcnemar_exact, mde_paired, paired_bootstrap, pass_rate_ci


def test_exact_mcnemar_is_a_binomial_test_on_the_discordant_pairs():
    base = [True] * 10 + [False] * 2 + [True] * 5 + [False] * 3
    arm = [False] * 10 + [True] * 2 + [True] * 5 + [False] * 3
    result = mcnemar_exact(base, arm)
    assert (result.b, result.c) == (10, 2)
    assert result.p_value == pytest.approx(stats.binomtest(2, 12, 0.5).pvalue)
    assert result.p_value == pytest.approx(0.03857421875)  # 2 * sum(C(12,k), k<=2) / 2**12
    assert mcnemar_exact([True, False], [True, False]).p_value == 1.0


def test_pass_rate_ci_is_scipys_wilson_interval():
    ci = stats.binomtest(7, 20).proportion_ci(method="wilson")
    assert pass_rate_ci(7, 20) == pytest.approx((ci.low, ci.high))
    assert pass_rate_ci(7, 20) == pytest.approx((0.1812, 0.5671), abs=1e-4)


def test_holm_matches_the_step_down_procedure():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert holm([0.9, 0.8]) == [1.0, 1.0]  # 2 * 0.8 capped at 1, then monotone
    assert holm([0.2, 0.3, 0.01]) == pytest.approx([0.4, 0.4, 0.03])
    assert holm([]) == []


def test_paired_bootstrap_agrees_with_scipy_percentile_bootstrap():
    rng = np.random.default_rng(3)
    diffs = rng.normal(1.5, 2.0, size=40)
    ours = paired_bootstrap([[d] for d in diffs], n_boot=20_000, seed=1)
    theirs = stats.bootstrap((diffs,), np.mean, method="percentile", n_resamples=20_000, random_state=2)
    assert ours.mean == pytest.approx(diffs.mean())
    assert ours.low == pytest.approx(theirs.confidence_interval.low, abs=0.08)
    assert ours.high == pytest.approx(theirs.confidence_interval.high, abs=0.08)


def test_paired_bootstrap_resamples_tasks_with_their_epochs():
    # two tasks with 3 epochs each: the unit is the task, so n is 2, not 6
    ci = paired_bootstrap([[1.0, 1.0, 1.0], [3.0, 3.0, 3.0]], n_boot=2000)
    assert ci.n == 2 and ci.mean == pytest.approx(2.0) and ci.low == pytest.approx(1.0) and ci.high == 3.0
    constant = paired_bootstrap([[0.5], [0.5], [0.5]])
    assert (constant.low, constant.high) == (0.5, 0.5)


def test_minimum_detectable_effect_formula():
    diffs = [1.0, -1.0] * 10
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert mde_paired(diffs) == pytest.approx(z * np.std(diffs, ddof=1) / np.sqrt(20))
    assert mde_paired([0.0] * 20, fallback_sd=0.5) == pytest.approx(z * 0.5 / np.sqrt(20))


def _rows(arm: str, outcomes: str, words: list[float]) -> list[Row]:
    return [
        Row(arm, f"t{i}", 1, "pass" if o == "P" else "fail", {"words_per_message": w, "steps": 2, "tool_errors": 0})
        for i, (o, w) in enumerate(zip(outcomes, words, strict=True))
    ]


def test_verdict_says_no_detectable_difference_when_that_is_the_truth():
    base = _rows("neutral", "PPFFPF", [10, 12, 9, 11, 10, 12])
    arm = _rows("fast", "PFPFPF", [10, 12, 9, 11, 10, 12])
    comp = compare(base, arm, "fast", n_boot=500)
    comp.p_holm = comp.p_value
    text = verdict(comp, "neutral")
    assert "no detectable difference in pass rate" in text and "No detectable difference in words" in text


def test_verdict_reports_a_real_difference():
    base = _rows("neutral", "P" * 20, [40 + i % 3 for i in range(20)])
    arm = _rows("fast", "F" * 20, [10 + i % 2 for i in range(20)])
    comp = compare(base, arm, "fast", n_boot=500)
    comp.p_holm = comp.p_value
    text = verdict(comp, "neutral")
    assert "fast passes fewer tasks than neutral (-100 pp" in text
    assert "fewer words per message" in text
    # infra rows never enter the pairs
    arm[0] = Row("fast", "t0", 1, "infra")
    assert compare(base, arm, "fast", n_boot=100).pairs == 19


def test_no_behaviour_claim_from_a_handful_of_tasks():
    base = _rows("neutral", "FF", [10, 10])
    arm = _rows("careful", "FF", [20, 20])
    comp = compare(base, arm, "careful", n_boot=200)
    assert "Too few tasks (2)" in verdict(comp, "neutral") and "more words" not in verdict(comp, "neutral")
