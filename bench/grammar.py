"""Tool-call decode speed: grammar-constrained vs plain decoding, side by side in one run (goal >= 0.9x).

Three arms, interleaved round by round so machine noise hits them alike, greedy, same prompts:
  plain         no grammar (the speed of the model itself)
  grammar-full  the tool-call grammar applied to the whole vocabulary on every token (Rudder before)
  grammar-first sample first, check only the chosen token; full pass only when it is rejected (now)
  constrained   grammar-first plus the agent's call constraints with every small-model rule on (the copy
                bonus is asked about 32 candidates on every token of the "content" string: the worst case)
Decode speed counts generated tokens over generation time (prompt excluded; the prompt is cached).
The grammar arms must produce the same text (greedy): checked and printed.

    python bench/grammar.py [--rounds 5] [--tokens 160]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import console, load_engine
from rich.table import Table

from rudder.agent.aids.constraints import CallConstraints
from rudder.agent.protocols.json_calls import JsonProtocol
from rudder.engine.generation import Sampling
from rudder.tools.base import Workspace
from rudder.tools.toolbox import all_tools

TASKS = [
    "Reply with one JSON tool call: write_file with path story.txt and as content a long story about a "
    "lighthouse keeper and a storm, at least twenty sentences.",
    "Reply with one JSON tool call: write_file with path notes.md and as content detailed notes on how "
    "tides work, in many sentences.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=160)
    args = parser.parse_args()
    engine = load_engine()
    grammar = JsonProtocol(all_tools()).grammar()
    prompts = [engine.format_chat([{"role": "user", "content": task}]) for task in TASKS]
    totals = {arm: [0, 0.0] for arm in ("plain", "grammar-full", "grammar-first", "constrained")}
    workspace = Workspace(Path(tempfile.mkdtemp(prefix="rudder-bench-")))
    texts: dict[str, list[str]] = {"grammar-full": [], "grammar-first": []}
    full_passes = [0, 0]
    sampling = Sampling(max_tokens=args.tokens)
    for _ in range(args.rounds):
        for prompt in prompts:
            for arm in totals:
                engine.grammar_first = arm in ("grammar-first", "constrained")
                engine.reset()
                engine.prefill(engine.tokenize(prompt))  # the prompt is cached: only decoding is timed
                constraints = None
                if arm == "constrained":
                    constraints = CallConstraints(workspace, one_sentence=True, task=prompt, foreign_prefix="example_")
                generation = engine.stream(
                    prompt, sampling, grammar=None if arm == "plain" else grammar, token_filter=constraints
                )
                for _event in generation:
                    pass
                stats = generation.stats
                totals[arm][0] += stats.generated_tokens
                totals[arm][1] += stats.generate_seconds
                if arm in texts:
                    texts[arm].append(generation.text)
                if arm == "grammar-first" and generation.sampler is not None:
                    full_passes[0] += generation.sampler.full_passes
                    full_passes[1] += stats.generated_tokens
    speed = {arm: n / s for arm, (n, s) in totals.items()}
    table = Table(title="tool-call decode speed, SmolLM2-135M, greedy (shared machine: read the ratios)")
    for column in ("arm", "tokens", "tok/s", "vs plain"):
        table.add_column(column)
    for arm, (n, _seconds) in totals.items():
        table.add_row(arm, str(n), f"{speed[arm]:.1f}", f"{speed[arm] / speed['plain']:.2f}x")
    console.print(table)
    same = texts["grammar-full"] == texts["grammar-first"]
    console.print(f"grammar-first == grammar-full text (greedy): {same}")
    console.print(f"tokens that needed the full grammar pass: {full_passes[0]}/{full_passes[1]}")
    console.print(f"ratio grammar-first / plain: {speed['grammar-first'] / speed['plain']:.2f}")
    console.print(f"ratio constrained / plain: {speed['constrained'] / speed['plain']:.2f}")
    engine.close()


if __name__ == "__main__":
    main()
