"""The statistics of a paired A/B experiment, on top of scipy.

- pass rate per arm: Wilson 95% interval (scipy's binomtest)
- pass/fail vs the baseline: exact McNemar = a two-sided binomial test on the discordant pairs
- continuous metrics (words per message, steps, tool errors): paired bootstrap CI of the mean difference,
  resampling tasks (all epochs of a task move together, so repeats of one task are not counted as
  independent evidence)
- Holm's step-down correction across the arms compared with the baseline
- minimum detectable effect at this n (two-sided α = 0.05, power 0.8, normal approximation)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA, POWER = 0.05, 0.8


def pass_rate_ci(passed: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    ci = stats.binomtest(passed, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


@dataclass
class McNemar:
    b: int  # baseline passed, arm failed
    c: int  # baseline failed, arm passed
    p_value: float


def mcnemar_exact(base: Sequence[bool], arm: Sequence[bool]) -> McNemar:
    """Exact McNemar on paired outcomes: only the discordant pairs carry information."""
    if len(base) != len(arm):
        raise ValueError("paired outcomes must have the same length")
    b = sum(1 for x, y in zip(base, arm, strict=True) if x and not y)
    c = sum(1 for x, y in zip(base, arm, strict=True) if y and not x)
    p = 1.0 if b + c == 0 else float(stats.binomtest(c, b + c, 0.5, alternative="two-sided").pvalue)
    return McNemar(b, c, min(1.0, p))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1), in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


@dataclass
class BootstrapCI:
    mean: float
    low: float
    high: float
    n: int


def paired_bootstrap(
    diffs_by_unit: Sequence[Sequence[float]], n_boot: int = 10_000, seed: int = 0, confidence: float = 0.95
) -> BootstrapCI:
    """Percentile CI for the mean paired difference, resampling units (tasks) with their epochs."""
    units = [np.asarray(d, dtype=float) for d in diffs_by_unit if len(d)]
    if not units:
        return BootstrapCI(float("nan"), float("nan"), float("nan"), 0)
    sums = np.array([u.sum() for u in units])
    counts = np.array([len(u) for u in units], dtype=float)
    mean = float(sums.sum() / counts.sum())
    if len(units) < 2 or np.allclose(sums / counts, mean):
        return BootstrapCI(mean, mean, mean, len(units))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(units), size=(n_boot, len(units)))
    boot = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(boot, [tail, 1 - tail])
    return BootstrapCI(mean, float(low), float(high), len(units))


def _z(alpha: float = ALPHA, power: float = POWER) -> float:
    return float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))


def mde_paired(diffs: Sequence[float], fallback_sd: float | None = None) -> float:
    """Smallest true mean difference this many pairs would detect (α 0.05 two-sided, power 0.8):
    (z_{1-α/2} + z_power) · sd(diff) / √n. With no observed spread, `fallback_sd` is used."""
    n = len(diffs)
    if n < 2:
        return float("inf")
    sd = float(np.std(diffs, ddof=1))
    if sd == 0 and fallback_sd:
        sd = fallback_sd
    return _z() * sd / np.sqrt(n)


def mde_pass_rate(base: Sequence[bool], arm: Sequence[bool]) -> float:
    """MDE for the paired pass-rate difference; with no discordant pairs yet, assumes the arms' outcomes
    were independent (sd of a difference of two Bernoulli(p̄)), the conservative case."""
    diffs = [float(y) - float(x) for x, y in zip(base, arm, strict=True)]
    pooled = (sum(base) + sum(arm)) / max(1, 2 * len(base))
    fallback = float(np.sqrt(2 * max(pooled * (1 - pooled), 0.05 * 0.95)))
    return mde_paired(diffs, fallback)
