"""Conditional steering's maths without a model: readings, firing, threshold calibration."""

from __future__ import annotations

import numpy as np
import pytest

from rudder.vectors.steering.gate import Gate, calibrate_threshold, cosine, read


def unit(n: int = 8, axis: int = 0) -> np.ndarray:
    d = np.zeros(n, np.float32)
    d[axis] = 1.0
    return d


def test_cosine_is_scale_free_and_zero_for_a_zero_row() -> None:
    row = np.array([3.0, 4.0, 0, 0, 0, 0, 0, 0], np.float32)
    assert cosine(row, unit()) == pytest.approx(0.6)
    assert cosine(10 * row, unit()) == pytest.approx(0.6)
    assert cosine(np.zeros(8, np.float32), unit()) == 0.0


def test_a_gate_fires_only_past_its_threshold_on_its_side() -> None:
    above = Gate("drift", "l_out-14", unit(), 0.5)
    below = Gate("drift", "l_out-14", unit(), 0.5, above=False)
    assert above.fires(0.51) and not above.fires(0.5) and not above.fires(-1.0)
    assert below.fires(0.49) and not below.fires(0.5)
    assert above.key != below.key
    # equal gates built twice (a step's thought plan and its call plan) share one key: one state
    assert above.key == Gate("drift", "l_out-14", unit(), 0.5).key
    reading = read(above, np.array([1, 1, 0, 0, 0, 0, 0, 0], np.float32), at_token=3)
    assert reading.fired and reading.value == pytest.approx(2**-0.5) and reading.at_token == 3
    assert "fired" in reading.describe()


def test_calibration_picks_the_threshold_that_separates_best() -> None:
    drifted = np.array([0.30, 0.35, 0.40, 0.01])
    calibrated = np.array([0.05, 0.10, 0.15, 0.08, 0.02])
    found = calibrate_threshold(drifted, calibrated)
    # between 0.15 (highest calibrated) and 0.30: all three high drifted steps, no calibrated one
    assert 0.15 < found.threshold < 0.30
    assert found.tpr == pytest.approx(0.75) and found.fpr == 0.0
    assert (found.positives, found.negatives) == (4, 5)


def test_calibration_respects_a_false_positive_budget_and_the_below_side() -> None:
    rng = np.random.default_rng(0)
    drifted, calibrated = rng.normal(1.0, 1.0, 200), rng.normal(0.0, 1.0, 200)
    free = calibrate_threshold(drifted, calibrated)
    strict = calibrate_threshold(drifted, calibrated, max_fpr=0.05)
    assert strict.fpr <= 0.05 < free.fpr and strict.threshold > free.threshold
    flipped = calibrate_threshold(-drifted, -calibrated, above=False)
    assert not flipped.above
    assert flipped.threshold == pytest.approx(-free.threshold) and flipped.tpr == pytest.approx(free.tpr)


def test_calibration_refuses_an_empty_side() -> None:
    with pytest.raises(ValueError, match="both kinds"):
        calibrate_threshold(np.array([]), np.array([0.1]))
