"""Steering cost, measured side by side in one run.

Decode speed unsteered vs native control vector vs Rudder's callback hook (same vector, layers 10-15),
interleaved round by round so machine noise hits every variant alike; then extraction time for
100 contrastive pairs. Goals: native ≥ 0.99 and callback ≥ 0.92 of unsteered.

    python bench/steering.py [--rounds 5] [--tokens 128]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import console, decode_tok_s, interleaved, load_engine, ratio_table

from rudder.vectors.extraction.dataset import load_dataset
from rudder.vectors.extraction.extract import extract
from rudder.vectors.steering.plan import VectorUse, build_plan
from rudder.vectors.steering.steerer import Steerer

DATASET = Path(__file__).resolve().parent.parent / "rudder" / "vectors" / "datasets" / "terse_verbose.jsonl"
LAYERS = list(range(10, 16))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    engine = load_engine()
    dataset = load_dataset(DATASET, limit=100)

    started = time.perf_counter()
    vector = extract(engine, dataset, LAYERS)
    extract_seconds = time.perf_counter() - started
    started = time.perf_counter()
    extract(engine, dataset, list(range(1, engine.info.n_layer)))
    extract_all_seconds = time.perf_counter() - started

    # A small push (0.02 of the residual norm) so the text, and with it the token count, stays comparable.
    plan = build_plan([VectorUse(vector, 0.02)])
    native, callback = Steerer(engine, "native"), Steerer(engine, "callback")

    def steered(steerer: Steerer) -> float:
        with steerer.steering(plan):
            return decode_tok_s(engine, args.tokens)

    decode_tok_s(engine, 32)  # warm-up
    samples = interleaved(
        {
            "unsteered": lambda: decode_tok_s(engine, args.tokens),
            "native cvec": lambda: steered(native),
            "callback hook": lambda: steered(callback),
        },
        args.rounds,
    )
    console.print(ratio_table(f"decode, {args.tokens} tokens × {args.rounds} rounds", samples, "unsteered", "tok/s"))
    console.print(
        f"extraction, {len(dataset)} pairs ({2 * len(dataset)} prompts, "
        f"{sum(len(engine.tokenize(engine.format_chat(p))) for p in dataset.positives + dataset.negatives)} tokens): "
        f"layers 10-15 {extract_seconds:.1f} s, layers 1-29 {extract_all_seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
