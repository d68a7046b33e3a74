"""What `--record-activations` costs: the same task, the same seed, recording on and off, interleaved.

    RUDDER_THREADS=1 .venv/bin/python bench/record_cost.py --layers 8,12,16,20 --rounds 3

Each round runs the agent once per variant from a reset cache at temperature 0 (the runs must match token
for token, else the comparison is void and the script says so). Reported: generation seconds per step
(model time: prefill + decode) and wall seconds per step, medians over rounds, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.common import console, interleaved, load_engine
from rudder.agent.config import AgentConfig
from rudder.agent.factory import open_session
from rudder.engine.generation import Sampling
from rudder.vectors.extraction.recording import parse_layers_arg

TASK = "In app.py, change the value of TIMEOUT from 30 to 45."
FILES = {"app.py": "TIMEOUT = 30\nRETRIES = 3\n\n\ndef main():\n    return TIMEOUT * RETRIES\n", "README.md": "# app\n"}


def make_repo(parent: Path) -> Path:
    repo = parent / "repo"
    repo.mkdir()
    for name, text in FILES.items():
        (repo / name).write_text(text)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "f"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layers", default="8,12,16,20")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=6)
    args = parser.parse_args()
    engine = load_engine()
    layers = parse_layers_arg(args.layers, engine.info.n_layer)
    outputs: dict[str, list[list[str]]] = {"off": [], "on": []}
    per_step: dict[str, list[float]] = {"off": [], "on": []}

    def variant(name: str, record: tuple[int, ...] | None):
        def run() -> float:
            with tempfile.TemporaryDirectory() as tmp:
                repo = make_repo(Path(tmp))
                config = AgentConfig(max_steps=args.max_steps, approval="auto", reproducible=True, mode="neutral")
                session = open_session(
                    engine, repo, config, Sampling(temperature=0.0, max_tokens=512), record=False, record_layers=record
                )
                summary = session.run(TASK)
                steps = max(1, summary.steps)
                outputs[name].append([s.output for s in session.history])
                per_step[name].append(summary.wall_seconds / steps)
                if record:
                    recorded = sum(len(r) for r in session.recorder.rows.values())  # type: ignore[union-attr]
                    console.print(f"recorded {recorded} positions over {summary.steps} steps")
                return summary.generate_seconds / steps

        return run

    samples = interleaved({"off": variant("off", None), "on": variant("on", layers)}, args.rounds)
    same = all(a == b for a, b in zip(outputs["off"], outputs["on"], strict=True))
    off, on = statistics.median(samples["off"]), statistics.median(samples["on"])
    wall_off, wall_on = statistics.median(per_step["off"]), statistics.median(per_step["on"])
    console.print(f"layers {list(layers)}, {args.rounds} rounds, identical outputs: {same}")
    console.print(f"generation s/step: off {off:.3f}, on {on:.3f}, ratio {on / off:.3f}")
    console.print(f"wall s/step:       off {wall_off:.3f}, on {wall_on:.3f}, ratio {wall_on / wall_off:.3f}")
    console.print(f"all rounds (generation s/step): off {samples['off']}, on {samples['on']}")


if __name__ == "__main__":
    main()
