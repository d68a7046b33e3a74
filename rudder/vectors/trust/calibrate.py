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
from rudder.vectors.files.card import Calibration, CalibrationRow, Recipe
from rudder.vectors.steering.plan import VectorUse, build_plan
from rudder.vectors.steering.steerer import Steerer
from rudder.vectors.trust.guard import CollapseGuard
from rudder.vectors.trust.health import layer_spec
from rudder.vectors.trust.textmetrics import damaged, metric, repetition_rate
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


def ask(
    engine: Engine, system: str, questions: Sequence[str], max_tokens: int, guard: CollapseGuard | None = None
) -> list[Answer]:
    """Greedy answers under whatever steering is active (the KV cache is reset for each); with `guard`, the
    collapse guard watches each answer as it does in agent runs (it starts every answer from the active plan)."""
    out = []
    plan = guard.steerer.plan if guard is not None else None
    for question in questions:
        messages = [{"role": "system", "content": system}] if system else []
        prompt = engine.tokenize(engine.format_chat([*messages, {"role": "user", "content": question}]))
        engine.reset()
        if guard is not None and plan is not None:
            guard.steerer.apply(plan)  # undo the guard's back-off from the previous answer
        watchers = [guard] if guard is not None else []
        result = engine.complete(prompt, Sampling(max_tokens=max_tokens), watchers=watchers)
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
    guarded: bool = False,
) -> tuple[CalibrationRow, list[Answer]]:
    plan = build_plan([VectorUse(vector, scale, tuple(layers))]) if vector is not None and scale else None
    guard = CollapseGuard(steerer) if guarded and plan is not None else None
    if plan is not None:
        with steerer.steering(plan):
            answers = ask(engine, recipe.system, prompts, recipe.max_tokens, guard)
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
        guard_actions=len(guard.events) if guard is not None else 0,
        examples=[a.text[:160] for a in answers[:2]],
    )
    return row, answers


def unsteered_answers(engine: Engine, recipe: Recipe) -> tuple[CalibrationRow, list[Answer]]:
    """The scale-0 row and answers on the recipe's prompts, to share between sweeps (`calibrate(unsteered=)`)."""
    steerer = Steerer(engine)
    steerer.clear()
    return measure(engine, steerer, None, 0.0, (), recipe, recipe.prompts or DEFAULT_PROMPTS)


def calibrate(
    engine: Engine,
    vector: SteeringVector,
    recipe: Recipe,
    *,
    layers: Sequence[int],
    scales: Sequence[float] | None = None,
    sign: float = 1.0,
    max_damaged: float = 0.1,
    max_perplexity: float = 4.0,
    guarded: bool | None = None,
    progress: Callable[[CalibrationRow], None] | None = None,
    unsteered: tuple[CalibrationRow, list[Answer]] | None = None,
    done: Sequence[CalibrationRow] = (),
) -> Calibration:
    """Sweep |scale| upwards (`scales`, else the recipe's, else DEFAULT_SCALES); stop at the first scale whose
    damage passes the threshold (see `passes`). `guarded` (default: the recipe's `guard`) runs the collapse
    guard on the steered answers, as agent runs do: a loop it catches is backed off and rewound, and what is
    left is judged like any answer; the unsteered answers are never guarded (the guard acts only on steering).
    `unsteered`: the scale-0 row and answers of an earlier sweep on the same prompts (`unsteered_answers`),
    so sweeping both signs measures the unsteered model once. `done`: rows of an interrupted sweep of the same
    vector, prompts and unsteered answers (a resumed build): their scales are not measured again.
    """
    prompts = recipe.prompts or DEFAULT_PROMPTS
    scales = scales or recipe.scales or DEFAULT_SCALES
    guarded = recipe.guard if guarded is None else guarded
    steerer = Steerer(engine)
    steerer.clear()
    base, base_answers = unsteered or measure(engine, steerer, None, 0.0, layers, recipe, prompts)
    intact = [not damaged(a.question, a.text) for a in base_answers]
    if progress:
        progress(base)
    rows, chosen = [base], 0.0
    measured = {row.scale: row for row in done}
    for magnitude in sorted(abs(s) for s in scales):
        row = measured.get(sign * magnitude)
        if row is None:
            row, answers = measure(engine, steerer, vector, sign * magnitude, layers, recipe, prompts, guarded)
            row.change = round(row.effect / base.effect - 1, 4) if base.effect else 0.0
            row.added = sum(ok and bool(damaged(a.question, a.text)) for ok, a in zip(intact, answers, strict=True))
            if progress:
                progress(row)
        rows.append(row)
        if not passes(row, base, max_damaged, max_perplexity, fewest=min(r.damaged for r in rows)):
            break
        chosen = sign * magnitude
    return Calibration(
        metric=recipe.metric,
        goal=recipe.goal if sign > 0 else ("increase" if recipe.goal == "decrease" else "decrease"),
        layers=layer_spec(layers),
        scale=chosen,
        max_damaged=max_damaged,
        max_perplexity=max_perplexity,
        guarded=guarded,
        rows=rows,
    )


def passes(
    row: CalibrationRow,
    base: CalibrationRow,
    max_damaged: float,
    max_perplexity: float,
    fewest: int | None = None,
) -> bool:
    """The unsteered model loops now and then too: a scale may damage at most `max_damaged` of the answers
    that were intact unsteered, and may not leave more answers damaged than the best scale so far (`fewest`
    damaged answers, unsteered included) plus that share: a vector that repairs the model's own loops at a
    small scale must not give that back at a larger one. Its median perplexity under the unsteered model
    stays within `max_perplexity` x the unsteered one."""
    allowed = math.floor(max_damaged * row.answers + 1e-9)
    fewest = base.damaged if fewest is None else min(fewest, base.damaged)
    return (
        row.added <= allowed
        and row.damaged <= fewest + allowed
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
