"""Conditional steering (CAST, arXiv 2409.05907; TACT, 2605.05980): a correction that runs only on the
steps whose residual points along an axis.

A `Gate` names the axis (a unit direction read at one graph node), a threshold and a side. At the first
token the model writes freely in a step (the thought's first token; vectors/stepwatch.py finds it) the
residual's cosine with the axis is read; when it is above (or below) the threshold the gate *fires* and
the gated vector uses of the plan run from the next token to the end of the step; otherwise they do not
run at all. With `every = N` the gate is read again every N tokens while it has not fired. A fired gate
stays open for the rest of the step: the correction itself moves the reading (projecting the axis out
sets it to ~0), and a gate that closed because it worked would flicker.

Everything here is plain numpy, so the thresholds are tested without a model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Gate:
    axis: str  # the axis vector's name (trajectories, the UI)
    node: str  # graph node read, e.g. "l_out-14"
    direction: np.ndarray  # unit, float32, n_embd
    threshold: float  # on the cosine between the residual row and `direction`
    above: bool = True  # fire when the reading is above the threshold (False: below)
    every: int | None = None  # read again every N generated tokens after the first, until it fires

    @property
    def key(self) -> str:
        """Equal gates in two plans (a step's thought and its tool call) share one key, so one state."""
        side = ">" if self.above else "<"
        return f"{self.axis}@{self.node}{side}{self.threshold:g}"

    def fires(self, value: float) -> bool:
        return value > self.threshold if self.above else value < self.threshold

    def describe(self) -> dict[str, object]:
        side = "above" if self.above else "below"
        return {"axis": self.axis, "node": self.node, side: self.threshold, "every": self.every}


@dataclass(frozen=True)
class GateReading:
    """One reading of a gate: where, what it saw, whether it fired (trajectory `gate` entries)."""

    axis: str
    node: str
    at_token: int  # generated tokens before the one read (0 = the step's first)
    value: float
    threshold: float
    above: bool
    fired: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def describe(self) -> str:
        side = ">" if self.above else "<"
        verdict = "fired" if self.fired else "quiet"
        return (
            f"gate {self.axis}: {verdict} ({self.value:+.3f} vs {side}{self.threshold:+.3f} at token {self.at_token})"
        )


def cosine(row: np.ndarray, unit: np.ndarray) -> float:
    """The reading: cosine of one residual row with a unit direction (0 for a zero row)."""
    row = np.asarray(row, dtype=np.float32)
    norm = float(np.linalg.norm(row))
    return float(row @ unit) / norm if norm > 0 else 0.0


def read(gate: Gate, row: np.ndarray, at_token: int) -> GateReading:
    value = cosine(row, gate.direction)
    return GateReading(gate.axis, gate.node, at_token, value, gate.threshold, gate.above, gate.fires(value))


@dataclass(frozen=True)
class Threshold:
    """A calibrated threshold and what it does on the steps it was calibrated on."""

    threshold: float
    above: bool
    tpr: float  # share of the drifted steps the gate fires on
    fpr: float  # share of the calibrated steps it fires on (where the correction can only hurt)
    positives: int
    negatives: int


def calibrate_threshold(
    positives: np.ndarray, negatives: np.ndarray, *, above: bool = True, max_fpr: float | None = None
) -> Threshold:
    """The threshold that best separates drifted (positive) from calibrated (negative) readings:
    the largest tpr - fpr (Youden's J), or the largest tpr with fpr <= `max_fpr` when given.

    Candidates lie halfway between neighbouring readings, so the gate never sits exactly on a sample.
    """
    pos = np.asarray(positives, dtype=np.float64)
    neg = np.asarray(negatives, dtype=np.float64)
    if pos.size == 0 or neg.size == 0:
        raise ValueError(f"calibration needs readings of both kinds (got {pos.size} drifted, {neg.size} calibrated)")
    if not above:  # "below" is "above" on the negated readings
        flipped = calibrate_threshold(-pos, -neg, above=True, max_fpr=max_fpr)
        return Threshold(-flipped.threshold, False, flipped.tpr, flipped.fpr, pos.size, neg.size)
    values = np.unique(np.concatenate([pos, neg]))
    candidates = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    tpr = (pos[None, :] > candidates[:, None]).mean(axis=1)
    fpr = (neg[None, :] > candidates[:, None]).mean(axis=1)
    if max_fpr is None:
        best = int(np.argmax(tpr - fpr))
    else:
        allowed = np.flatnonzero(fpr <= max_fpr)
        best = int(allowed[np.argmax(tpr[allowed])])  # the last candidate always has fpr 0
    return Threshold(float(candidates[best]), True, float(tpr[best]), float(fpr[best]), pos.size, neg.size)
