"""The agent's prompt read by the embedded model's own weights (Q4_1) and by its dense F16/BF16 copies.

Issue 27, goal 5: is the dense copy (engine/dense.py, today used only for capture) faster for the agent?
One process loads the three models; each round reads the agent's first prompt (system prompt, tools, worked
examples and the task, rendered by a real session) from an empty cache with each model in turn, then
decodes 32 tokens one at a time (the agent also generates: a dense copy is 2-4x the bytes per token). Rounds
are interleaved, so a busy machine slows all alike: read the ratios. Best of the rounds, seconds.

    python bench/dense_prefill.py --rounds 5          # one thread (RUDDER_THREADS), this CPU's build
    /work/wt/portable/.venv-avx2/bin/python bench/dense_prefill.py   # an AVX2-only build (PYTHONPATH=tree)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import git
import llama_cpp

from rudder.agent.factory import open_session
from rudder.config import load_config
from rudder.engine import dense
from rudder.engine.config import EngineConfig
from rudder.engine.engine import Engine

DECODE = 32


class _Captured(Exception):
    pass


class _FirstPrompt:
    """Stands in for the engine until the session asks for its first completion, and keeps that prompt."""

    def __init__(self, engine: Engine) -> None:
        self._engine, self.prompt = engine, ""

    def __getattr__(self, name: str) -> object:
        return getattr(self._engine, name)

    def stream(self, prompt: str, sampling: object = None, **kw: object) -> object:
        self.prompt = prompt
        raise _Captured


def agent_prompt(engine: Engine) -> str:
    root = Path(tempfile.mkdtemp())
    repo = git.Repo.init(root)
    for i in range(4):
        (root / f"mod{i}.py").write_text("\n".join(f"def helper_{i}_{k}(x):\n    return x * {k}\n" for k in range(8)))
    repo.git.add(A=True)
    repo.git.commit(m="init", author="b <b@b>")
    config = load_config(root)
    agent = config.agent.model_copy(update={"plan_first": False, "approval": "auto"})
    capture = _FirstPrompt(engine)
    session = open_session(capture, root, agent, config.sampling, mode="neutral", record=False)
    with contextlib.suppress(_Captured):
        session.run("Add a docstring to helper_0_0 in mod0.py, then finish.")
    if not capture.prompt:
        raise SystemExit("the session asked for no completion")
    return capture.prompt


def measure(engine: Engine, tokens: list[int]) -> tuple[float, float]:
    """(seconds to read `tokens` from an empty cache, seconds per decoded token)."""
    engine.reset()
    started = time.perf_counter()
    engine.prefill(tokens, reuse_cache=False)
    read = time.perf_counter() - started
    started = time.perf_counter()
    for token in tokens[:DECODE]:  # which tokens does not change the cost of a decode
        engine.decode_token(token)
    return read, (time.perf_counter() - started) / DECODE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--types", nargs="+", default=["f16", "bf16"])
    args = parser.parse_args()
    threads = int(os.environ.get("RUDDER_THREADS", "1"))
    base = Engine(EngineConfig(n_threads=threads, prompt_cache_mb=0))
    engines = {"q4_1": base}
    for kind in args.types:
        path = dense.dense_copy(base.info.path, kind, threads)
        engines[kind] = Engine(EngineConfig(model_path=path, n_threads=threads, prompt_cache_mb=0))
    tokens = base.tokenize(agent_prompt(base))
    best: dict[str, tuple[float, float]] = {}
    load: list[float] = []
    for _ in range(args.rounds):
        for name, engine in engines.items():
            read, per_token = measure(engine, tokens)
            old = best.get(name, (float("inf"), float("inf")))
            best[name] = (min(old[0], read), min(old[1], per_token))
            load.append(os.getloadavg()[0])
    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    features = ",".join(
        part.split("=")[0].split(":")[-1].strip() for part in info.split("|") if part.strip().endswith("= 1")
    )
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')} {sys.executable} ({features}); {threads} thread(s); prompt "
        f"{len(tokens)} tokens; best of {args.rounds} rounds; load average {min(load):.1f}-{max(load):.1f}"
    )
    q_read, q_decode = best["q4_1"]
    for name, (read, per_token) in best.items():
        print(
            f"  {name:5s} prompt {read:6.2f} s ({len(tokens) / read:6.0f} tok/s, {q_read / read:4.2f}x Q4_1)   "
            f"decode {1000 * per_token:6.1f} ms/token ({q_decode / per_token:4.2f}x Q4_1)"
        )


if __name__ == "__main__":
    main()
