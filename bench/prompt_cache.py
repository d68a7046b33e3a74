"""Time to first token of `rudder run`: the first run in a repo against the second (prompt cache warm).

Each run is a whole new Python process that does what `rudder run` does (config, engine, repo map,
session) and exits at the first token the model writes; the parent times it from spawn to that token,
so imports, model load, repo map and prefill all count. Pairs run back to back (cold: an empty
RUDDER_CACHE_DIR, then warm: the same directory), one llama.cpp thread, interleaved with a run of an
older tree (`--against`, default main) on the same cache state so a noisy machine slows all alike.

    python bench/prompt_cache.py                 # 5 pairs
    python bench/prompt_cache.py --pairs 9 --against dce5c46
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASK = "Add a docstring to the parse function in app.py."
CHILD = """
import sys; sys.meta_path[:] = [f for f in sys.meta_path if "Editable" not in getattr(f, "__name__", "")]
import sys, time
from pathlib import Path
from rudder.agent.events import Token
from rudder.agent.factory import open_session
from rudder.cli.options import build_config
from rudder.engine.engine import Engine

root = Path(sys.argv[1])
config = build_config(root, threads=1)

def listener(event):
    if isinstance(event, Token) and event.text:
        print("FIRST", getattr(engine, "restored", 0), flush=True)
        import os; os._exit(0)

engine = Engine(config.model)
session = open_session(engine, root, config.agent, config.sampling, listener=listener, record=False)
session.run(sys.argv[2])
"""


def make_repo(path: Path) -> None:
    path.mkdir()
    (path / "app.py").write_text(
        "def parse(text):\n    return [line.split(',') for line in text.splitlines()]\n\n\n"
        "def main():\n    print(parse(open('data.csv').read()))\n"
    )
    (path / "util.py").write_text("def clamp(x, lo, hi):\n    return max(lo, min(hi, x))\n")
    (path / "data.csv").write_text("a,b\n1,2\n")
    for args in (["init", "-q"], ["add", "."], ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(path), *args], check=True)


def first_token(tree: Path, repo: Path, cache: Path) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(tree), "RUDDER_CACHE_DIR": str(cache), "RUDDER_THREADS": "1"}
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(repo), TASK], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    line = next((x for x in out.stdout.splitlines() if x.startswith("FIRST")), None)
    if line is None:
        raise SystemExit(f"no first token from {tree}:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    restored = line.split()[1]
    return elapsed, int(restored) if restored.isdigit() else -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--against", default="main", help="git revision to compare with [main]")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        old = scratch / "old"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(old), args.against], check=True
        )
        try:
            build = [sys.executable, "setup.py", "build_ext", "--inplace"]
            subprocess.run(build, cwd=old, check=True, capture_output=True)
            repo = scratch / "repo"
            make_repo(repo)
            cold, warm, base = [], [], []
            for pair in range(args.pairs):
                cache = scratch / f"cache{pair}"
                base.append(first_token(old, repo, scratch / f"base{pair}")[0])
                cold.append(first_token(ROOT, repo, cache))
                warm.append(first_token(ROOT, repo, cache))
                print(
                    f"pair {pair}: {args.against} {base[-1]:.2f} s, cold {cold[-1][0]:.2f} s "
                    f"(restored {cold[-1][1]}), warm {warm[-1][0]:.2f} s (restored {warm[-1][1]})",
                    flush=True,
                )
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    med = {
        name: statistics.median(x if name == "base" else [t for t, _ in x])
        for name, x in (("base", base), ("cold", cold), ("warm", warm))
    }
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')} load {os.getloadavg()[0]:.1f}: time to first token, median of "
        f"{args.pairs}: {args.against} {med['base']:.2f} s, first run {med['cold']:.2f} s, second run "
        f"{med['warm']:.2f} s; first/second {med['cold'] / med['warm']:.2f}x, "
        f"{args.against}/second {med['base'] / med['warm']:.2f}x"
    )


if __name__ == "__main__":
    main()
