"""Directions from runs without a model: labels, contrasts, mean difference, Gram-Schmidt, AUROC, splits."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from rudder.vectors.extraction.fromruns import Steps, auroc, check_split, contrast, directions, gram_schmidt, separation
from rudder.vectors.extraction.recording import ActivationRecorder, RecordingError, load_recording, steps_meta
from rudder.vectors.extraction.runlabels import FAIL, LOOP, OFF_TARGET, PASS, PREMATURE, step_labels


def brute_auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    wins = [1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg)]
    return float(np.mean(wins))


def test_auroc_matches_counting_pairs_with_ties() -> None:
    rng = np.random.default_rng(1)
    pos, neg = rng.integers(0, 5, 17).astype(float), rng.integers(0, 5, 23).astype(float)
    assert auroc(pos, neg) == pytest.approx(brute_auroc(pos, neg))
    assert auroc(np.array([2.0, 3.0]), np.array([0.0, 1.0])) == 1.0


def test_separation_is_significant_for_separated_scores_and_not_for_noise() -> None:
    rng = np.random.default_rng(2)
    pos = np.r_[np.ones(30, bool), np.zeros(30, bool)]
    separated = np.r_[rng.normal(1.5, 1, 30), rng.normal(0, 1, 30)]
    noise = rng.normal(0, 1, 60)
    good = separation(separated, pos, ~pos, permutations=300)
    bad = separation(noise, pos, ~pos, permutations=300)
    assert good.auroc > 0.7 and good.p < 0.01 and good.auroc > good.null95
    assert bad.p > 0.05 and (good.positives, good.negatives) == (30, 30)


def test_gram_schmidt_orthogonalises_later_directions_and_keeps_the_first() -> None:
    a = np.array([2.0, 0.0, 0.0], np.float32)
    b = np.array([1.0, 1.0, 0.0], np.float32)
    first, second = gram_schmidt([a, b])
    assert np.allclose(first, a) and abs(float(first @ second)) < 1e-6
    assert np.allclose(second, [0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="span"):
        gram_schmidt([a, 3 * a])


def steps_for(labels: list[list[str]], tasks: list[str], passed: list[bool], rows: np.ndarray) -> Steps:
    return Steps(rows={5: rows}, labels=labels, tasks=tasks, passed=list(passed))


def test_fail_run_contrast_uses_only_tasks_with_both_verdicts() -> None:
    labels = [[FAIL], [FAIL], [PASS], [FAIL], [PASS, LOOP]]
    tasks = ["a", "a", "a", "b", "a"]
    passed = [False, False, True, False, True]
    steps = steps_for(labels, tasks, passed, np.zeros((5, 3), np.float32))
    pos, neg = contrast(steps, FAIL)
    assert pos.tolist() == [True, True, False, False, False]  # task b never passed: left out
    assert neg.tolist() == [False, False, True, False, True]
    pooled_pos, pooled_neg = contrast(steps, FAIL, pooled=True)  # dev health: every task counts
    assert pooled_pos.tolist() == [True, True, False, True, False]
    assert pooled_neg.tolist() == [False, False, True, False, True]
    loop_pos, loop_neg = contrast(steps, LOOP)
    assert loop_pos.tolist() == [False, False, False, False, True]
    assert loop_neg.tolist() == [False, False, True, False, False]  # calibrated: passing, no behaviour label


def test_directions_point_towards_the_drifted_steps_and_are_orthogonal() -> None:
    rng = np.random.default_rng(3)
    rows = rng.normal(0, 0.1, (8, 4)).astype(np.float32)
    rows[:2, 0] += 2.0  # loop steps
    rows[2:4, 0] += 1.0
    rows[2:4, 1] += 2.0  # off-target steps
    labels = [[PASS, LOOP]] * 2 + [[PASS, OFF_TARGET]] * 2 + [[PASS]] * 4
    steps = steps_for(labels, ["t"] * 8, [True] * 8, rows)
    found = directions(steps, [LOOP, OFF_TARGET], [5])
    loop, off = found[LOOP][5], found[OFF_TARGET][5]
    assert loop[0] > 1.5 and abs(float(loop @ off)) < 1e-4 and off[1] > 1.5


def test_labels_from_a_trajectory() -> None:
    steps = [
        {"index": 0, "tool": "read_file", "arguments": {"path": "app.py"}, "observation": "x = 1", "ok": True},
        {"index": 1, "tool": "read_file", "arguments": {"path": "app.py"}, "observation": "x = 1", "ok": True},
        {"index": 2, "tool": "read_file", "arguments": {"path": "config/other.py"}, "observation": "", "ok": False},
        {"index": 3, "tool": "list_files", "arguments": {}, "observation": "docs/guide.md", "ok": True},
        {"index": 4, "tool": "read_file", "arguments": {"path": "docs/guide.md"}, "observation": "", "ok": True},
        {"index": 5, "tool": "finish", "arguments": {"answer": "done"}, "observation": "", "ok": True},
    ]
    labels = step_labels(steps, instruction="Fix the bug in app.py", files=["app.py", "lib/util.py"], passed=False)
    assert labels[0] == [FAIL]
    assert LOOP in labels[1]
    assert OFF_TARGET in labels[2]  # not named, not in the fixture, not seen
    assert OFF_TARGET not in labels[4]  # discovered by list_files first
    assert PREMATURE in labels[5]
    unjudged = step_labels(steps, instruction="Fix app.py", files=[], passed=None)
    assert unjudged[5] == [] and unjudged[0] == []


def test_a_recording_round_trips_in_float16_and_splits_are_enforced(tmp_path: Path) -> None:
    recorder = ActivationRecorder((3, 7), n_embd=4)
    residual = {"l_out-3": np.arange(4, dtype=np.float32), "l_out-7": np.ones(4, np.float32)}
    assert recorder.add(0, "thought", residual) and recorder.add(0, "call", residual)
    assert recorder.add(2, "thought", residual)
    assert not recorder.add(3, "thought", {"l_out-3": residual["l_out-3"]})  # a layer missing: nothing kept
    steps = [{"index": 0, "tool": "read_file", "arguments": {"path": "a"}}, {"index": 2, "tool": "finish"}]
    meta = {"split": "dev", "task_id": "t1", "passed": True, "steps": steps_meta(steps, [[PASS], [PASS]])}
    path = recorder.save(tmp_path / "run.activations.npz", meta)
    loaded = load_recording(path)
    assert loaded.layers == (3, 7) and loaded.steps.tolist() == [0, 2] and loaded.thought.dtype == np.float16
    assert np.allclose(loaded.rows("thought", 3)[0], np.arange(4)) and np.isnan(loaded.rows("call", 3)[1]).all()
    assert [s["labels"] for s in loaded.step_meta()] == [[PASS], [PASS]]
    with pytest.raises(RecordingError, match="only train runs.*split dev"):
        check_split([loaded], "train")
    check_split([loaded], "dev")
    loaded.meta["split"] = None
    with pytest.raises(RecordingError, match="allow-unsplit"):
        check_split([loaded], "train")
    check_split([loaded], "train", allow_unsplit=True)


def test_premature_finish_is_contrasted_with_finishes_that_were_right() -> None:
    labels = [[FAIL], [FAIL, PREMATURE], [PASS], [PASS]]
    steps = Steps(
        rows={5: np.zeros((4, 3), np.float32)},
        labels=labels,
        tasks=["a"] * 4,
        passed=[False, False, True, True],
        tools=["read_file", "finish", "read_file", "finish"],
    )
    pos, neg = contrast(steps, PREMATURE)
    assert pos.tolist() == [False, True, False, False] and neg.tolist() == [False, False, False, True]


def test_clean_contrast_takes_unlabelled_steps_of_failing_runs_too() -> None:
    labels = [[FAIL, LOOP], [FAIL], [PASS]]
    steps = Steps(rows={5: np.zeros((3, 3), np.float32)}, labels=labels, tasks=["a"] * 3, passed=[False, False, True])
    assert contrast(steps, LOOP)[1].tolist() == [False, False, True]
    assert contrast(steps, LOOP, clean=True)[1].tolist() == [False, True, True]
