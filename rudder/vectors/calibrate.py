"""Calibration: sweep a vector's scale on held-out prompts, measure the target effect and the damage, and
pick the largest scale before the damage passes a threshold.

Damage per answer (textmetrics.damaged): a repetition loop, incoherent text, or no word in common with the
question; per scale also the median perplexity of the steered answers under the *unsteered* model (text
the model itself finds absurd) relative to the unsteered answers'. Greedy decoding, capped tokens.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rudder.engine.engine import EngineError
from rudder.engine.generation import Sampling
from rudder.vectors.card import Calibration, CalibrationRow, Recipe
from rudder.vectors.health import layer_spec
from rudder.vectors.plan import VectorUse, build_plan
from rudder.vectors.steerer import Steerer
from rudder.vectors.textmetrics import damaged, metric, repetition_rate
from rudder.vectors.vector import SteeringVector, VectorError

if TYPE_CHECKING:
    from rudder.engine.engine import Engine

DEFAULT_SCALES = (0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3)
DEFAULT_PROMPTS = [  # coding questions kept out of every dataset and out of bench/library.py
    "How do I read a CSV file in Python?",
    "What does the git rebase command do?",
    "How can I find which function makes my program slow?",
    "What is the difference between a list and a tuple?",
    "How do I write a unit test for a function that reads a file?",
    "Why does my loop never end?",
]


@dataclass
class Answer:
    question: str
    text: str
    prompt_tokens: list[int]
    tokens: list[int]


def ask(engine: Engine, system: str, questions: Sequence[str], max_tokens: int) -> list[Answer]:
    """Greedy answers under whatever steering is active (the KV cache is reset for each)."""
    out = []
    for question in questions:
        messages = [{"role": "system", "content": system}] if system else []
        prompt = engine.tokenize(engine.format_chat([*messages, {"role": "user", "content": question}]))
        engine.reset()
        result = engine.complete(prompt, Sampling(max_tokens=max_tokens))
        out.append(Answer(question, result.text, prompt, list(result.tokens)))
    engine.reset()
    return out


def perplexity(engine: Engine, prompt: Sequence[int], answer: Sequence[int]) -> float:
    """exp(mean -log p(answer token)) under the engine's current steering (clear it for 'unsteered')."""
    if not answer:
        return 1.0
    engine.reset()
    engine.prefill(prompt, reuse_cache=False)
    first = engine.logits()
    try:
        rest = engine.logits_of(list(answer[:-1]), n_past=len(prompt))
    except EngineError as exc:
        raise VectorError(f"scoring an answer: {exc}") from None
    engine.reset()
    logits = np.vstack([first[None, :], rest]).astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    logprobs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    picked = logprobs[np.arange(len(answer)), np.asarray(answer)]
    return float(math.exp(-picked.mean()))


def measure(
    engine: Engine,
    steerer: Steerer,
    vector: SteeringVector | None,
    scale: float,
    layers: Sequence[int],
    recipe: Recipe,
    prompts: Sequence[str],
) -> tuple[CalibrationRow, list[Answer]]:
    plan = build_plan([VectorUse(vector, scale, tuple(layers))]) if vector is not None and scale else None
    if plan is not None:
        with steerer.steering(plan):
            answers = ask(engine, recipe.system, prompts, recipe.max_tokens)
    else:
        answers = ask(engine, recipe.system, prompts, recipe.max_tokens)
    score = metric(recipe.metric)
    ppl = [perplexity(engine, a.prompt_tokens, a.tokens) for a in answers]  # unsteered: no plan active here
    row = CalibrationRow(
        scale=scale,
        effect=round(statistics.mean(score(a.text) for a in answers), 4),
        change=0.0,
        perplexity=round(statistics.median(ppl), 3),
        repetition=round(statistics.mean(repetition_rate(a.text) for a in answers), 4),
        damaged=sum(bool(damaged(a.question, a.text)) for a in answers),
        answers=len(answers),
        examples=[a.text[:160] for a in answers[:2]],
    )
    return row, answers


def calibrate(
    engine: Engine,
    vector: SteeringVector,
    recipe: Recipe,
    *,
    layers: Sequence[int],
    scales: Sequence[float] = DEFAULT_SCALES,
    sign: float = 1.0,
    max_damaged: float = 0.1,
    max_perplexity: float = 4.0,
    progress: Callable[[CalibrationRow], None] | None = None,
) -> Calibration:
    """Sweep |scale| upwards; stop at the first scale whose damage passes the threshold.

    See `passes` for the threshold.
    """
    prompts = recipe.prompts or DEFAULT_PROMPTS
    steerer = Steerer(engine)
    steerer.clear()
    base, base_answers = measure(engine, steerer, None, 0.0, layers, recipe, prompts)
    intact = [not damaged(a.question, a.text) for a in base_answers]
    if progress:
        progress(base)
    rows, chosen = [base], 0.0
    for magnitude in sorted(abs(s) for s in scales):
        row, answers = measure(engine, steerer, vector, sign * magnitude, layers, recipe, prompts)
        row.change = round(row.effect / base.effect - 1, 4) if base.effect else 0.0
        row.added = sum(ok and bool(damaged(a.question, a.text)) for ok, a in zip(intact, answers, strict=True))
        rows.append(row)
        if progress:
            progress(row)
        if not passes(row, base, max_damaged, max_perplexity):
            break
        chosen = sign * magnitude
    return Calibration(
        metric=recipe.metric,
        goal=recipe.goal if sign > 0 else ("increase" if recipe.goal == "decrease" else "decrease"),
        layers=layer_spec(layers),
        scale=chosen,
        max_damaged=max_damaged,
        max_perplexity=max_perplexity,
        rows=rows,
    )


def passes(row: CalibrationRow, base: CalibrationRow, max_damaged: float, max_perplexity: float) -> bool:
    """The unsteered model loops now and then too: a scale may damage at most `max_damaged` of the answers
    that were intact unsteered, and may not leave more answers damaged than unsteered plus that share;
    its median perplexity under the unsteered model stays within `max_perplexity` x the unsteered one."""
    allowed = math.floor(max_damaged * row.answers + 1e-9)
    return (
        row.added <= allowed
        and row.damaged <= base.damaged + allowed
        and row.perplexity <= max_perplexity * max(base.perplexity, 1.0)
    )


def plot(calibration: Calibration, title: str, path: Path) -> Path:
    """Effect and damage against scale, the chosen scale marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = calibration.rows
    scales = [r.scale for r in rows]
    fig, left = plt.subplots(figsize=(6, 3.6))
    left.plot(scales, [100 * r.change for r in rows], "o-", color="tab:blue", label=f"{calibration.metric} change")
    left.set_xlabel("relative scale")
    left.set_ylabel(f"{calibration.metric}: change vs unsteered (%)", color="tab:blue")
    right = left.twinx()
    right.plot(scales, [r.damaged / r.answers for r in rows], "s--", color="tab:red", label="damaged share")
    right.plot(scales, [r.repetition for r in rows], "^:", color="tab:orange", label="repetition")
    right.set_ylim(0, 1.05)
    right.set_ylabel("damaged answers / repetition", color="tab:red")
    left.axvline(calibration.scale, color="gray", linestyle="-.")
    left.set_title(f"{title}: chosen scale {calibration.scale:g} @ {calibration.layers}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
