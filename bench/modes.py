"""Mode swaps: latency of a swap, what the next decode pays for it, and prompt tokens re-evaluated after it.

For each built-in mode's plans on the embedded model: time `Steerer.apply` between the plans of
different step kinds (goal < 1 ms). `apply` only queues a native (control-vector) plan: llama.cpp takes the
new vector at the next decode, on the decoding thread, so the bench also times one-token decodes right after
a swap against decodes without one, interleaved (the difference is the swap's deferred cost). Then it runs a
multi-turn conversation that swaps the plan before every turn and counts how many prompt tokens each turn
re-evaluates beyond its new input (goal: 0 — cached tokens keep the steering they were computed under; a
swap never re-processes them).

    python bench/modes.py [--swaps 2000] [--decodes 60] [--turns 6]
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
from rudder.vectors.steering.plan import UNSTEERED
from rudder.vectors.steering.steerer import Steerer


def swap_latency(steerer: Steerer, plans: list, swaps: int) -> list[float]:
    steerer.apply(plans[0])
    times = []
    for i in range(swaps):
        started = time.perf_counter()
        steerer.apply(plans[i % len(plans)])
        times.append(time.perf_counter() - started)
    return times


def next_decode(engine, steerer: Steerer, plans: list, decodes: int) -> tuple[list[float], list[float]]:
    """Seconds of one-token decodes right after a swap, and of decodes without one, interleaved."""
    engine.reset()
    steerer.apply(plans[0])
    engine.prefill(engine.tokenize("The lighthouse keeper looked at the sea and"), reuse_cache=False)
    token = engine.tokenize(" the", add_bos=False)[0]
    cycle = plans if len(plans) > 1 else [*plans, UNSTEERED]  # every swap changes the plan
    after, without = [], []
    for i in range(2 * decodes):
        swapped = i % 2 == 1
        if swapped:
            steerer.apply(cycle[(i // 2 + 1) % len(cycle)])
        started = time.perf_counter()
        engine.decode_token(token)
        (after if swapped else without).append(time.perf_counter() - started)
    return after, without


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
    parser.add_argument("--decodes", type=int, default=60)
    parser.add_argument("--turns", type=int, default=6)
    args = parser.parse_args()
    engine = load_engine()
    steerer = Steerer(engine)
    table = Table(title="mode swaps on the embedded model")
    columns = ("mode", "plans", "swap median µs", "swap p99 µs", "decode after a swap / without, ms", "re-evaluated")
    for column in columns:
        table.add_column(column)
    for name in sorted(n for n in load_modes(None) if "/" not in n):
        try:
            active = activate_mode(engine, None, name)
        except Exception as exc:  # a mode whose vectors are not in the library for this model
            table.add_row(name, "-", "-", "-", f"skipped: {exc}")
            continue
        plans = list({id(p): p for k in StepKind for p in (active.plan(k, Phase.THOUGHT),)}.values())
        times = sorted(swap_latency(steerer, plans, args.swaps))
        after, without = next_decode(engine, steerer, plans, args.decodes)
        extra = reevaluated_per_swap(engine, steerer, plans, args.turns)
        table.add_row(
            name,
            str(len(plans)),
            f"{statistics.median(times) * 1e6:.0f}",
            f"{times[int(len(times) * 0.99)] * 1e6:.0f}",
            f"{statistics.median(after) * 1e3:.2f} / {statistics.median(without) * 1e3:.2f}",
            f"max {max(extra)} (per turn: {extra})",
        )
    steerer.clear()
    console.print(table)


if __name__ == "__main__":
    main()
