"""Prompt-processing and decode speed of the embedded model.

python bench/decode.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics

from common import console, load_engine

from rudder.engine.generation import Sampling


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    engine = load_engine()
    prompt = engine.tokenize("The history of the lighthouse begins on a rocky coast. " * 40)[:512]
    decode_prompt = engine.format_chat([{"role": "user", "content": "Tell me a long story about the sea."}])
    prompt_speeds, decode_speeds = [], []
    for _ in range(args.rounds):
        engine.reset()
        result = engine.complete(prompt, Sampling(max_tokens=1))
        prompt_speeds.append(result.stats.prompt_tok_s)
        engine.reset()
        result = engine.complete(decode_prompt, Sampling(max_tokens=128))
        decode_speeds.append(result.stats.decode_tok_s)
    info = engine.info
    console.print(f"{info.name} ({info.architecture}, {info.n_layer} layers, n_embd {info.n_embd})")
    console.print(
        f"prompt processing (512 tokens): median {statistics.median(prompt_speeds):.0f} tok/s "
        f"(min {min(prompt_speeds):.0f}, max {max(prompt_speeds):.0f})"
    )
    console.print(
        f"decode (128 tokens, greedy):    median {statistics.median(decode_speeds):.0f} tok/s "
        f"(min {min(decode_speeds):.0f}, max {max(decode_speeds):.0f})"
    )
    console.print(
        f"prompt / decode speed ratio: {statistics.median(prompt_speeds) / statistics.median(decode_speeds):.2f}"
    )


if __name__ == "__main__":
    main()
