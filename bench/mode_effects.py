"""What each built-in mode measurably does to free text on the embedded model, against its twins.

For every mode M: answers to held-out coding questions (greedy) under neutral, M, M/prompt-only and
M/vector-only, on the step kind where M steers (plan, review or answer; the text phase). Reports mean
words per answer and the share of answers that talk about checking (test/check/verify/edge case/...).
The twins separate what the vectors do from what the addendum does.

    python bench/mode_effects.py [--questions 8] [--max-tokens 200]
"""

from __future__ import annotations

import argparse
import re
import statistics

from common import QUESTIONS, console, load_engine
from rich.table import Table

from rudder.agent.factory import activate_mode
from rudder.engine.generation import Sampling
from rudder.interfaces import Phase, StepKind
from rudder.vectors.steering.steerer import Steerer

STEERED_KIND = {"fast-draft": StepKind.PLAN, "careful-review": StepKind.REVIEW, "explain": StepKind.ANSWER}
CHECKING = re.compile(r"\b(test|tests|testing|check|checks|verify|edge case|careful|review|make sure|ensure)\b", re.I)


def answer_all(engine, steerer, active, kind, questions, max_tokens):
    system = "You are a coding assistant."
    addendum = active.addendum(kind)
    if addendum:
        system += " " + addendum
    texts = []
    with steerer.steering(active.plan(kind, Phase.THOUGHT)):
        for question in questions:
            engine.reset()
            prompt = engine.format_chat([{"role": "system", "content": system}, {"role": "user", "content": question}])
            sampling = active.sampling(kind, Sampling(max_tokens=max_tokens))
            texts.append(engine.complete(prompt, sampling.model_copy(update={"max_tokens": max_tokens})).text)
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--max-tokens", type=int, default=200)
    args = parser.parse_args()
    engine = load_engine()
    steerer = Steerer(engine)
    questions = QUESTIONS[: args.questions]
    table = Table(title=f"mode effects on free text, {len(questions)} held-out questions, greedy")
    for column in ("mode", "arm", "step kind", "mean words", "vs neutral", "talks about checking"):
        table.add_column(column)
    for mode, kind in STEERED_KIND.items():
        baseline = None
        for arm in ("neutral", mode, f"{mode}/prompt-only", f"{mode}/vector-only"):
            texts = answer_all(engine, steerer, activate_mode(engine, None, arm), kind, questions, args.max_tokens)
            words = statistics.mean(len(t.split()) for t in texts)
            baseline = baseline or words
            checking = sum(bool(CHECKING.search(t)) for t in texts)
            table.add_row(
                mode, arm, str(kind), f"{words:.0f}", f"{words / baseline - 1:+.0%}", f"{checking}/{len(texts)}"
            )
    console.print(table)


if __name__ == "__main__":
    main()
