"""Mode swaps: latency of a swap, and prompt tokens re-evaluated by the call after a swap.

For each built-in mode's plans on the embedded model: time `Steerer.apply` between the plans of
different step kinds (goal < 1 ms), then run a multi-turn conversation that swaps the plan before
every turn and count how many prompt tokens each turn re-evaluates beyond its new input
(goal: 0 — cached tokens keep the steering they were computed under; a swap never re-processes them).

    python bench/modes.py [--swaps 2000] [--turns 6]
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import console, load_engine
from rich.table import Table

from rudder.agent.factory import activate_mode
from rudder.engine.generation import Sampling
from rudder.interfaces import Phase, StepKind
from rudder.modes.registry import load_modes
from rudder.vectors.steering.steerer import Steerer


def swap_latency(steerer: Steerer, plans: list, swaps: int) -> list[float]:
    steerer.apply(plans[0])
    times = []
    for i in range(swaps):
        started = time.perf_counter()
        steerer.apply(plans[i % len(plans)])
        times.append(time.perf_counter() - started)
    return times


def reevaluated_per_swap(engine, steerer: Steerer, plans: list, turns: int) -> list[int]:
    engine.reset()
    messages = [{"role": "user", "content": "Give me one word for a colour."}]
    extra = []
    for turn in range(turns):
        steerer.apply(plans[turn % len(plans)])
        prompt_tokens = engine.tokenize(engine.format_chat(messages))
        held = engine.llama.input_ids[: engine.llama.n_tokens].tolist()
        common = next(
            (i for i, (a, b) in enumerate(zip(held, prompt_tokens, strict=False)) if a != b),
            min(len(held), len(prompt_tokens)),
        )
        new_input = len(prompt_tokens) - common
        result = engine.complete(prompt_tokens, Sampling(max_tokens=8))
        extra.append(result.stats.prompt_tokens_evaluated - max(new_input, 1))
        messages += [{"role": "assistant", "content": result.text}, {"role": "user", "content": "And another?"}]
    return extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--swaps", type=int, default=2000)
    parser.add_argument("--turns", type=int, default=6)
    args = parser.parse_args()
    engine = load_engine()
    steerer = Steerer(engine)
    table = Table(title="mode swaps on the embedded model")
    for column in ("mode", "distinct plans", "swap median µs", "swap p99 µs", "re-evaluated beyond new input"):
        table.add_column(column)
    for name in sorted(n for n in load_modes(None) if "/" not in n):
        try:
            active = activate_mode(engine, None, name)
        except Exception as exc:  # a mode whose vectors are not in the library for this model
            table.add_row(name, "-", "-", "-", f"skipped: {exc}")
            continue
        plans = list({id(p): p for k in StepKind for p in (active.plan(k, Phase.THOUGHT),)}.values())
        times = sorted(swap_latency(steerer, plans, args.swaps))
        extra = reevaluated_per_swap(engine, steerer, plans, args.turns)
        table.add_row(
            name,
            str(len(plans)),
            f"{statistics.median(times) * 1e6:.0f}",
            f"{times[int(len(times) * 0.99)] * 1e6:.0f}",
            f"max {max(extra)} (per turn: {extra})",
        )
    steerer.clear()
    console.print(table)


if __name__ == "__main__":
    main()
