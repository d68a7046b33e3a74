"""Directions from the agent's own runs (TACT's drift axes): recorded residuals of labelled steps ->
one mean-difference direction per label, orthogonalised (Gram-Schmidt) when several, health on dev.

    recordings (train split only) --collect--> rows per layer + labels per step
    per label: mean(drifted steps) - mean(contrast steps)      (pointing *towards* the drift)
    several labels: each later direction loses its components along the earlier ones (per layer)
    health: AUROC of dev steps projected on the direction, with a label-permutation null

The maths are numpy functions of arrays (tested without a model); `collect` reads recording files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rudder.vectors.extraction.recording import Recording, RecordingError
from rudder.vectors.extraction.runlabels import FAIL, PASS, PREMATURE, drifted

SPLIT_TRAIN = "train"


@dataclass
class Steps:
    """Labelled steps pooled from recordings at one position: rows per layer, one entry per step."""

    rows: dict[int, np.ndarray]  # layer -> (N, n_embd) float32
    labels: list[list[str]] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    passed: list[bool | None] = field(default_factory=list)
    tools: list[str | None] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)  # recording files used

    def __len__(self) -> int:
        return len(self.labels)


def check_split(recordings: Sequence[Recording], wanted: str | tuple[str, ...], *, allow_unsplit: bool = False) -> None:
    """Refuse recordings of another split (e.g. dev or test runs for extraction), naming them."""
    wanted = (wanted,) if isinstance(wanted, str) else wanted
    wrong = [
        r for r in recordings if r.meta.get("split") not in wanted and not (allow_unsplit and not r.meta.get("split"))
    ]
    if wrong:
        shown = ", ".join(f"{r.path} (split {r.meta.get('split') or 'none'})" for r in wrong[:3])
        more = f" and {len(wrong) - 3} more" if len(wrong) > 3 else ""
        hint = (
            " (runs of a suite without splits need --allow-unsplit)"
            if any(not r.meta.get("split") for r in wrong)
            else ""
        )
        raise RecordingError(f"only {'/'.join(wanted)} runs may be used here; refused: {shown}{more}{hint}")


def collect(recordings: Sequence[Recording], position: str, layers: Sequence[int]) -> Steps:
    """Every step that reached `position`, with its labels, task and verdict."""
    if not recordings:
        raise RecordingError("no recordings found")
    rows: dict[int, list[np.ndarray]] = {layer: [] for layer in layers}
    steps = Steps(rows={})
    for rec in recordings:
        per_layer = {layer: rec.rows(position, layer) for layer in layers}
        reached = ~np.isnan(per_layer[layers[0]]).any(axis=1)
        for i, meta in enumerate(rec.step_meta()):
            if not reached[i]:
                continue
            for layer in layers:
                rows[layer].append(per_layer[layer][i])
            steps.labels.append(list(meta.get("labels", [])))
            steps.tasks.append(str(rec.meta.get("task_id", rec.path.stem)))
            steps.passed.append(rec.meta.get("passed"))
            steps.tools.append(meta.get("tool"))
        steps.runs.append(str(rec.path))
    if not steps.labels:
        raise RecordingError(f"the recordings hold no step that reached the {position!r} position")
    steps.rows = {layer: np.stack(values).astype(np.float32) for layer, values in rows.items()}
    return steps


def contrast(steps: Steps, label: str, *, clean: bool = False, pooled: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(drifted mask, contrast mask) for one label.

    fail-run: steps of failing samples vs steps of passing samples, only tasks that have both (so the
    direction is not "which task is this"); `pooled`: of every task, which is what a gate meets at run
    time, and the only choice on dev runs of one epoch (no task there has both verdicts).
    premature-finish: finish steps of failing samples vs finish steps of passing samples (both decide
    to stop; only one was right), so the direction is not merely "about to finish".
    loop, off-target: steps carrying it vs calibrated steps (steps of passing samples with no behaviour
    label; runs without a verdict: steps with no behaviour label). `clean`: steps with no behaviour label
    from any sample (more contrast steps when few samples pass; the direction then ignores the verdict).
    """
    labels = steps.labels
    if label == FAIL:
        both = set(steps.tasks)
        if not pooled:
            both = {t for t in both if _has(steps, t, True) and _has(steps, t, False)}
        pos = np.array([FAIL in ls and t in both for ls, t in zip(labels, steps.tasks, strict=True)])
        neg = np.array([PASS in ls and t in both for ls, t in zip(labels, steps.tasks, strict=True)])
        return pos, neg
    pos = np.array([label in ls for ls in labels])
    if label == PREMATURE:
        tools = steps.tools or [None] * len(labels)
        neg = np.array([tool == "finish" and PASS in ls for ls, tool in zip(labels, tools, strict=True)])
        return pos, neg
    judged = any(p is not None for p in steps.passed)
    neg = np.array([not drifted(ls) and (PASS in ls or not judged or clean) for ls in labels])
    return pos, neg


def _has(steps: Steps, task: str, passed: bool) -> bool:
    return any(t == task and p is passed for t, p in zip(steps.tasks, steps.passed, strict=True))


def mean_difference(rows: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    if not pos.any() or not neg.any():
        raise ValueError(f"a mean difference needs steps on both sides (got {int(pos.sum())} and {int(neg.sum())})")
    return (rows[pos].mean(axis=0, dtype=np.float64) - rows[neg].mean(axis=0, dtype=np.float64)).astype(np.float32)


def gram_schmidt(directions: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Each direction minus its components along the earlier ones (sizes kept: what is left of it)."""
    done: list[np.ndarray] = []
    units: list[np.ndarray] = []
    for direction in directions:
        d = np.asarray(direction, dtype=np.float64).copy()
        for unit in units:
            d -= (d @ unit) * unit
        norm = float(np.linalg.norm(d))
        if norm < 1e-9 * max(1.0, float(np.linalg.norm(direction))):
            raise ValueError("a direction lies in the span of the earlier ones (nothing left to orthogonalise)")
        units.append(d / norm)
        done.append(d.astype(np.float32))
    return done


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counted half (Mann-Whitney U / (n_pos * n_neg))."""
    pos, neg = np.asarray(positive, np.float64), np.asarray(negative, np.float64)
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    scores = np.concatenate([pos, neg])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(scores.size)
    sorted_scores = scores[order]
    i = 0
    while i < scores.size:  # average ranks over ties
        j = i
        while j + 1 < scores.size and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    u = ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2
    return float(u / (pos.size * neg.size))


@dataclass(frozen=True)
class Separation:
    auroc: float
    null95: float  # 95th percentile of the AUROC with the labels permuted
    p: float  # share of permutations at least as high (one-sided, with the +1 correction)
    positives: int
    negatives: int


def separation(
    scores: np.ndarray, pos: np.ndarray, neg: np.ndarray, permutations: int = 1000, seed: int = 0
) -> Separation:
    """How well `scores` rank drifted above contrast steps, against label permutations."""
    keep = pos | neg
    values, is_pos = scores[keep], pos[keep]
    observed = auroc(values[is_pos], values[~is_pos])
    if not is_pos.any() or is_pos.all():
        return Separation(observed, float("nan"), float("nan"), int(is_pos.sum()), int((~is_pos).sum()))
    rng = np.random.default_rng(seed)
    null = np.empty(permutations)
    for k in range(permutations):
        shuffled = rng.permutation(is_pos)
        null[k] = auroc(values[shuffled], values[~shuffled])
    p = (1 + int((null >= observed).sum())) / (permutations + 1)
    return Separation(observed, float(np.quantile(null, 0.95)), p, int(is_pos.sum()), int((~is_pos).sum()))


def projections(rows: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Each row's cosine with the direction: the gate's reading (vectors/gate.py), scale-free."""
    unit = direction / np.linalg.norm(direction)
    norms = np.linalg.norm(rows, axis=1)
    return np.where(norms > 0, rows @ unit / np.where(norms > 0, norms, 1.0), 0.0)


def directions(
    steps: Steps, labels: Sequence[str], layers: Sequence[int], *, clean: bool = False
) -> dict[str, dict[int, np.ndarray]]:
    """label -> layer -> direction (Gram-Schmidt over the labels, in the order given, per layer)."""
    raw = {
        label: {layer: mean_difference(steps.rows[layer], *contrast(steps, label, clean=clean)) for layer in layers}
        for label in labels
    }
    if len(labels) == 1:
        return raw
    out: dict[str, dict[int, np.ndarray]] = {label: {} for label in labels}
    for layer in layers:
        for label, d in zip(labels, gram_schmidt([raw[label][layer] for label in labels]), strict=True):
            out[label][layer] = d
    return out
