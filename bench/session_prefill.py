"""Prompt tokens evaluated per agent step over a 20-step session, against the tokens that are new in it.

The session is scripted (the same 20 tool calls every time: reads, a listing, a repeated call that makes
the agent change course, edits, a finish) but every prompt is real: the real engine evaluates it (one
token generated, then the scripted reply stands in), so the counts are what the agent's prefill costs.
"New" tokens of a step are those of the messages added since the previous step (the last call, its
result, the step's addendum); a step is cheap when it evaluates at most new + 64. Runs in a fresh
process per tree (this one and `--against`), side by side, at each `--n-ctx`.

    python bench/session_prefill.py                          # n_ctx 8192 and 2048, against main
    python bench/session_prefill.py --model tiny-ds4.gguf    # any GGUF (e.g. tests/engine/tiny_deepseek4.py's)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = r'''
import sys; sys.meta_path[:] = [f for f in sys.meta_path if "Editable" not in getattr(f, "__name__", "")]
import inspect, json, os, sys, tempfile
from pathlib import Path
import git
import llama_cpp
if os.environ.get("BENCH_EXTRA_BUFFERS") == "0":  # older trees load with AMX buffers, which SIGILL on some VMs
    _default = llama_cpp.llama_cpp.llama_model_default_params
    def _params():
        params = _default()
        params.use_extra_bufts = False
        return params
    llama_cpp.llama_cpp.llama_model_default_params = _params
from rudder.agent.factory import open_session
from rudder.config import load_config
from rudder.engine.config import EngineConfig
from rudder.engine.engine import Engine
from rudder.agent.prompts import _call
from rudder.engine.batch import common_length
from rudder.engine.generation import GenerationStats, TokenEvent

try:
    from rudder.engine.prefill import replay_tokens  # what Engine.stream does in trees that have it
except ImportError:
    replay_tokens = None

n_ctx, model, calls, sampled = int(sys.argv[1]), sys.argv[2] or None, json.loads(sys.argv[3]), sys.argv[4] == "1"
engine = Engine(EngineConfig(model_path=model, n_ctx=n_ctx, n_threads=1))
accepts = inspect.signature(engine.stream).parameters


class Reply:
    def __init__(self, text, stats):
        self.text, self.stats, self._reply = "", stats, text
    def __iter__(self):
        self.text = self._reply
        yield TokenEvent(0, self._reply)
    def cancel(self):
        pass


class Forced:
    """The real engine evaluates every prompt and then the scripted call, as if the model had sampled it."""
    def __init__(self, engine, session_ref):
        self._engine, self._session, self.steps = engine, session_ref, []
    def __getattr__(self, name):
        return getattr(self._engine, name)
    def stream(self, prompt, sampling=None, **kw):
        engine, session = self._engine, self._session[0]
        tokens = replay_tokens(engine, prompt) if replay_tokens else engine.tokenize(prompt)
        held = list(engine.llama.input_ids[: engine.llama.n_tokens])
        common = common_length(held, tokens)
        stable = 0
        if "stable_prefix" in accepts and kw.get("stable_prefix"):
            prefixes = kw["stable_prefix"]  # one text, or several nested ones in newer trees
            if isinstance(prefixes, str):
                stable = common_length(engine.tokenize(prefixes), tokens)
            else:
                stable = tuple(sorted({common_length(engine.tokenize(p), tokens) for p in prefixes if p}))
        cached, evaluated = engine.prefill(tokens, stable=stable) if stable else engine.prefill(tokens)
        tool, args = calls[len(self.steps)]
        reply = _call(session.protocol, tool, args, f"To go on, I use {tool}.")
        engine.prefill(tokens + engine.tokenize(reply, add_bos=False))  # what the model would have decoded
        stats = GenerationStats(len(tokens), cached, evaluated)
        conv = session.conversation
        before = engine.format_chat(conv.messages()[:-2], add_generation_prompt=False) if conv.turns else ""
        new = len(tokens) - (len(engine.tokenize(before)) if before else 0)
        step = {"prompt": len(tokens), "evaluated": evaluated, "new": new, "held": len(held), "common": common}
        self.steps.append(step)
        if os.environ.get("BENCH_DEBUG") and common < len(held):
            print("DIVERGE", len(held), common, repr(engine.detokenize(held[max(0, common - 20):common + 20])),
                  repr(engine.detokenize(tokens[max(0, common - 20):common + 20])), file=sys.stderr)
        return Reply(reply, stats)


class Sampled:
    """The model samples its own calls (random weights babble; the grammar keeps them calls), as the issue
    measured: the counts then include what replaying the model's own tokens saves."""
    def __init__(self, engine, session_ref):
        self._engine, self._session, self._runs = engine, session_ref, []
    def __getattr__(self, name):
        return getattr(self._engine, name)
    def stream(self, prompt, sampling=None, **kw):
        engine, conv = self._engine, self._session[0].conversation
        before = engine.format_chat(conv.messages()[:-2], add_generation_prompt=False) if conv.turns else ""
        generation = engine.stream(prompt, sampling, **{k: v for k, v in kw.items() if k in accepts})
        self._runs.append((generation, len(engine.tokenize(prompt)), len(engine.tokenize(before)) if before else 0))
        return generation
    @property
    def steps(self):
        return [
            {"prompt": g.stats.prompt_tokens, "evaluated": g.stats.prompt_tokens_evaluated, "new": n - b,
             "generated": g.stats.generated_tokens}
            for g, n, b in self._runs
        ]


root = Path(tempfile.mkdtemp())
repo = git.Repo.init(root)
for i in range(8):
    body = "\n".join(f"def helper_{i}_{k}(x):\n    return x * {k} + {i}  # step {k} of module {i}\n" for k in range(12))
    (root / f"mod{i}.py").write_text(body)
(root / "README.md").write_text("# demo\n" + "Run the tests with pytest before finishing.\n" * 6)
repo.git.add(A=True)
repo.git.commit(m="init", author="b <b@b>")
config = load_config(root)
agent = config.agent.model_copy(update={"max_steps": len(calls), "plan_first": False, "approval": "auto"})
ref = []
forced = (Sampled if sampled else Forced)(engine, ref)
if os.environ.get("BENCH_ALL_STEPS"):  # the scripted greps (or a random model) repeat: run all 20 steps anyway
    import rudder.agent.discipline as discipline
    discipline.LOOP_STOP = 10**9
session = open_session(forced, root, agent, config.sampling, mode="neutral", record=False)
ref.append(session)
summary = session.run("Read the modules one by one and add a docstring to helper_0_0 in mod0.py, then finish.")
print("SESSION", summary.status, summary.steps, file=sys.stderr)
print(json.dumps(forced.steps))
'''


def calls() -> list[tuple[str, dict[str, object]]]:
    """(tool, arguments) of the 20 steps; the child renders them in the model's own call format."""
    out: list[tuple[str, dict[str, object]]] = [("list_files", {"path": "."})]
    out += [("read_file", {"path": f"mod{i}.py"}) for i in range(8)]
    out += [("read_file", {"path": "mod7.py"})]  # a repeat: the agent changes course (drops the example)
    out += [("grep", {"pattern": f"helper_{i}_3"}) for i in range(5)]
    out += [("read_file", {"path": "README.md"})]
    edits = [
        {"path": "mod0.py", "search": f"return x * {k} + 0", "replace": f"return x * {k} + 0  # {k}"} for k in range(3)
    ]
    out += [("edit_file", edit) for edit in edits]
    out += [("finish", {"answer": "done"})]
    return out


def run(tree: Path, n_ctx: int, model: str, sampled: bool = False) -> list[dict[str, int]]:
    env = {**os.environ, "PYTHONPATH": str(tree), "RUDDER_THREADS": "1", "RUDDER_CACHE_DIR": tempfile.mkdtemp()}
    if not extra_buffers():
        env["BENCH_EXTRA_BUFFERS"] = "0"
    args = [sys.executable, "-c", CHILD, str(n_ctx), model, json.dumps(calls()), "1" if sampled else "0"]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{tree}: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def extra_buffers() -> bool:
    """llama.cpp's AMX buffers crash (SIGILL) on this build where the CPU advertises AMX (rudder/engine/amx.py,
    where it exists); the bench turns them off there for every tree it runs, older ones included."""
    override = os.environ.get("RUDDER_LLAMA_EXTRA_BUFFERS", "").strip()
    if override in ("0", "1"):
        return override == "1"
    try:
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "")
    except OSError:
        return True
    return "amx_tile" not in flags.split()


def summary(steps: list[dict[str, int]]) -> str:
    later = steps[1:]  # the first step reads the whole prompt by definition
    cheap = sum(s["evaluated"] <= s["new"] + 64 for s in later)
    worst = max(later, key=lambda s: s["evaluated"] - s["new"])
    return (
        f"{len(steps)} steps, evaluated {sum(s['evaluated'] for s in steps)} tokens "
        f"(last step {steps[-1]['evaluated']}), {cheap}/{len(later)} later steps <= new + 64 "
        f"({100 * cheap / max(len(later), 1):.0f}%), worst "
        f"{worst['evaluated']} evaluated for {worst['new']} new"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-ctx", type=int, nargs="+", default=[8192, 2048])
    parser.add_argument("--model", default="", help="GGUF path [the embedded model]")
    parser.add_argument("--against", default="main", help="git revision to compare with; '' = this tree only")
    parser.add_argument("--detail", action="store_true", help="print every step's counts")
    parser.add_argument("--sampled", action="store_true", help="the model samples its own calls (not scripted)")
    parser.add_argument("--all-steps", action="store_true", help="no 'stuck' stop: all 20 calls run")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (each is one process, one thread)")
    args = parser.parse_args()
    if args.all_steps:
        os.environ["BENCH_ALL_STEPS"] = "1"
    with tempfile.TemporaryDirectory() as scratch:
        old = Path(scratch) / "old"
        trees = [("this tree", ROOT)]
        if args.against:
            add = ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(old), args.against]
            subprocess.run(add, check=True)
            build = [sys.executable, "setup.py", "build_ext", "--inplace"]
            subprocess.run(build, cwd=old, check=True, capture_output=True)
            trees.insert(0, (args.against, old))
        try:
            jobs = [(n_ctx, name, tree) for n_ctx in args.n_ctx for name, tree in trees]
            with ThreadPoolExecutor(args.jobs) as pool:  # token counts do not depend on timing
                results = pool.map(lambda job: run(job[2], job[0], args.model, args.sampled), jobs)
                for (n_ctx, name, _), steps in zip(jobs, results, strict=True):
                    print(f"{time.strftime('%Y-%m-%d %H:%M')} n_ctx {n_ctx}, {name}: {summary(steps)}", flush=True)
                    if args.detail:
                        print("  " + " ".join(f"{s['evaluated']}/{s['new']}" for s in steps))
        finally:
            if args.against:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)


if __name__ == "__main__":
    main()
