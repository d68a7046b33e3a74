"""Shared helpers for the benchmarks: load the engine once, time things side by side, print tables."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from rudder.engine.engine import Engine, EngineConfig
from rudder.engine.generation import Sampling

console = Console()
PROMPT = [{"role": "user", "content": "Write a long story about a lighthouse keeper and a storm."}]


def load_engine(n_ctx: int = 4096) -> Engine:
    return Engine(EngineConfig(n_ctx=n_ctx))


def decode_tok_s(engine: Engine, tokens: int = 128) -> float:
    """Greedy decode speed from a reset cache (prompt time excluded)."""
    engine.reset()
    result = engine.complete(engine.format_chat(PROMPT), Sampling(max_tokens=tokens, stop=[]))
    if result.stats.generated_tokens < tokens // 2:
        raise RuntimeError("the model stopped early; use a longer prompt for the benchmark")
    return result.stats.decode_tok_s


def interleaved(runs: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run each variant once per round, in turn, so machine noise hits all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            samples[name].append(run())
    return samples


def ratio_table(title: str, samples: dict[str, list[float]], baseline: str, unit: str) -> Table:
    table = Table(title=title)
    for column in ("variant", f"median {unit}", "min", "max", f"ratio vs {baseline}"):
        table.add_column(column)
    base = statistics.median(samples[baseline])
    for name, values in samples.items():
        median = statistics.median(values)
        table.add_row(name, f"{median:.1f}", f"{min(values):.1f}", f"{max(values):.1f}", f"{median / base:.3f}")
    return table


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


# held-out coding questions (in no dataset and no calibration set): bench/library.py and bench/mode_effects.py
QUESTIONS = [
    "How would you add a --dry-run flag to a command-line tool?",
    "A function sometimes returns None instead of a list. How do you fix it?",
    "How should I rename a module that many files import?",
    "What is the best way to speed up a slow database query?",
    "How do I make a web request retry when the server is busy?",
    "Explain what a race condition is and how to avoid one.",
    "How would you split a 2000-line file into smaller modules?",
    "How do I upgrade a library to a new major version safely?",
    "Why would a test pass locally but fail in CI?",
    "How do you handle a missing configuration file at start-up?",
]
