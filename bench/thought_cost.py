"""What the steerable "thought" costs: the first act step of each easy-suite task, with and without the
thought field, on the real model (greedy, neutral mode), side by side in one run.

    python bench/thought_cost.py [suites/easy] [--tasks 6]

Prints generated tokens and generation seconds per step, the thought's own tokens, and the ratios.
Shared machine: read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from easy_suite import load_suite, make_repo

from rudder.agent.factory import open_session
from rudder.agent.protocols.json_calls import JsonProtocol
from rudder.config import load_config
from rudder.engine.engine import Engine, EngineConfig


def first_step(engine: Engine, spec: dict, fixture: Path, with_thought: bool) -> tuple[int, float, int]:
    with tempfile.TemporaryDirectory(prefix="rudder-thought-") as tmp:
        root = Path(tmp)
        make_repo(fixture, root)
        config = load_config(root)
        agent = config.agent.model_copy(update={"max_steps": 1})
        engine.reset()
        session = open_session(engine, root, agent, config.sampling, mode="neutral", record=False)
        session.protocol = JsonProtocol(session.tools, with_thought=with_thought)
        session.run(spec["instruction"])
        step = session.history[0]
        thought = step.thought or ""
        thought_tokens = len(engine.tokenize(thought, add_bos=False)) if thought else 0
        return step.generated_tokens, step.generate_seconds, thought_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", nargs="?", default=str(Path(__file__).parent.parent / "suites" / "easy"))
    parser.add_argument("--tasks", type=int, default=6)
    args = parser.parse_args()
    tasks = load_suite(Path(args.suite))[: args.tasks]
    engine = Engine(EngineConfig())
    totals = {True: [0, 0.0, 0], False: [0, 0.0, 0]}
    print(f"shared machine; first act step of {len(tasks)} tasks, greedy, neutral")
    print(f"{'task':18} {'tokens with':>11} {'(thought)':>9} {'without':>8} {'s with':>7} {'s without':>9}")
    for task_id, spec, fixture in tasks:
        row = {}
        for with_thought in (False, True):
            row[with_thought] = first_step(engine, spec, fixture, with_thought)
            for i in range(3):
                totals[with_thought][i] += row[with_thought][i]
        (tw, sw, th), (tn, sn, _) = row[True], row[False]
        print(f"{task_id:18} {tw:>11} {th:>9} {tn:>8} {sw:>7.2f} {sn:>9.2f}")
    (tw, sw, th), (tn, sn, _) = totals[True], totals[False]
    print(
        f"\nthought tokens per step: {th / len(tasks):.1f}; generated tokens with/without: {tw / max(tn, 1):.2f}x; "
        f"generation time (prompt + decode) with/without: {sw / max(sn, 1e-9):.2f}x"
    )
    engine.close()


if __name__ == "__main__":
    main()
