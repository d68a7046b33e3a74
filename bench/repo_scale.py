"""The repo map and the call constraints' file list on large repositories, this tree against an older one.

A synthetic git repository of N Python files (each defines a few functions and calls functions of other
files; a few hundred commits of history) is made once per N under the temp directory. Each measurement
runs in a fresh process with PYTHONPATH set to one tree, interleaved with the other tree's:
    map        build_repo_map at the agent's default budget (512 tokens): cold (empty tag store) and warm
    coverage   how many files the map could rank (this tree: files with names; the older: its MAX_FILES cut)
    file list  the call constraints' file list on a step that changed nothing (older: listed again; this
               tree: the session's FileList, index unchanged)

    python bench/repo_scale.py --files 20000 100000 --against main
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAP = """
import sys; sys.meta_path[:] = [f for f in sys.meta_path if "Editable" not in getattr(f, "__name__", "")]
import json, sys, time
from pathlib import Path
root = Path(sys.argv[1])
from rudder.agent import repomap
started = time.perf_counter()
text = repomap.build_repo_map(root, budget_tokens=512)
elapsed = time.perf_counter() - started
files = sum(1 for line in text.splitlines() if not line.startswith(" "))
print(json.dumps({"seconds": elapsed, "files_shown": files}))
"""
FILL = """
import sys; sys.meta_path[:] = [f for f in sys.meta_path if "Editable" not in getattr(f, "__name__", "")]
import json, sys, time
from pathlib import Path
from rudder.agent import repomap
started = time.perf_counter()
repomap.build_repo_map(Path(sys.argv[1]), budget_tokens=512, parse_seconds=1e9)  # parses every file once
print(json.dumps({"seconds": time.perf_counter() - started}))
"""
STAGES = """
import sys; sys.meta_path[:] = [f for f in sys.meta_path if "Editable" not in getattr(f, "__name__", "")]
import json, resource, sys, time
from pathlib import Path
from rudder.agent import repomap
from rudder.tools.tags_store import TagStore
root, store, times = Path(sys.argv[1]), TagStore(), {}
def cpu():  # this process and the git children it waited for
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime
started, started_cpu = time.perf_counter(), cpu()
last = started
def stage(name):
    global last
    now = time.perf_counter()
    times[name] = now - last
    last = now
files = repomap.collect(root); stage("collect")
names = repomap.gather_names(root, files, store); stage("names")
ranks = repomap.rank_files(names, (), (), files.recency); stage("rank")
defs = repomap.ranked_definitions(root, files, names, ranks, store, (), 8 * 512 + 1000); stage("definitions")
repomap.fit(defs, 512, lambda text: len(text) // 4); stage("fit")
times["seconds"] = time.perf_counter() - started
times["cpu"] = cpu() - started_cpu
times["files_ranked"] = len(names)
print(json.dumps(times))
"""
FILES = """
import sys; sys.meta_path[:] = [f for f in sys.meta_path if "Editable" not in getattr(f, "__name__", "")]
import json, sys, time
from pathlib import Path
from rudder.tools.base import Workspace
ws = Workspace(Path(sys.argv[1]))
try:
    from rudder.agent.filelist import FileList
    listing = FileList(ws)
    listing.files()  # the session's first step lists
    started = time.perf_counter()
    n = len(listing.files())  # a later step, nothing changed
except ImportError:
    from rudder.agent.aids.constraints import CallConstraints
    CallConstraints(ws).files()
    started = time.perf_counter()
    n = len(CallConstraints(ws).files())  # each step builds its own list (its constructor lists already)
print(json.dumps({"seconds": time.perf_counter() - started, "files": n}))
"""


def make_repo(n: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"rudder-bench-repo-{n}"
    if (path / ".git" / "bench-done").exists():
        return path
    subprocess.run(["rm", "-rf", str(path)], check=True)
    path.mkdir()
    rng = random.Random(n)
    git = ["git", "-C", str(path), "-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run([*git, "init", "-q"], check=True)
    for i in range(n):
        folder = path / f"pkg{i % 97}" / f"sub{i % 13}"
        folder.mkdir(parents=True, exist_ok=True)
        calls = "\n".join(f"    f{rng.randrange(n)}_{k}()" for k in range(3))
        (folder / f"mod{i}.py").write_text(
            f"def f{i}_0():\n{calls}\n\n\ndef f{i}_1(x):\n    return x\n\n\ndef f{i}_2():\n    return f{i}_1(1)\n"
        )
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    for c in range(50):  # history: recency comes from it
        for i in rng.sample(range(n), 5):
            target = path / f"pkg{i % 97}" / f"sub{i % 13}" / f"mod{i}.py"
            target.write_text(target.read_text() + f"\n\ndef extra{c}():\n    return f{i}_0()\n")
        subprocess.run([*git, "commit", "-qam", f"change {c}"], check=True)
    (path / ".git" / "bench-done").write_text("")
    return path


def measure(tree: Path, script: str, repo: Path, cache: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree), "RUDDER_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", script, str(repo)], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{tree}: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def filled(sizes: list[int], runs: int) -> None:
    """The steady state: every file's names are in the tag store (a run before parsed them all)."""
    for n in sizes:
        repo = make_repo(n)
        with tempfile.TemporaryDirectory() as cache_name:
            cache = Path(cache_name)
            fill = measure(ROOT, FILL, repo, cache)["seconds"]
            rows = [measure(ROOT, STAGES, repo, cache) for _ in range(runs)]
            best = min(rows, key=lambda row: row["seconds"])
            stages = ", ".join(f"{k} {v:.2f}" for k, v in best.items() if k not in ("seconds", "cpu", "files_ranked"))
            print(
                f"{time.strftime('%Y-%m-%d %H:%M')} load {os.getloadavg()[0]:.1f}, {n} files: filling the store "
                f"{fill:.0f} s once; then the map ranks {best['files_ranked']} files in {best['seconds']:.2f} s wall, "
                f"{best['cpu']:.2f} s CPU incl. git "
                f"(best of {runs}; median {statistics.median(r['seconds'] for r in rows):.2f} s; {stages})",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, nargs="+", default=[20000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--against", default="main")
    parser.add_argument(
        "--filled", action="store_true", help="only this tree: the map once the tag store knows every file, by stage"
    )
    args = parser.parse_args()
    if args.filled:
        filled(args.files, args.runs)
        return
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        old = scratch / "old"
        add = ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(old), args.against]
        subprocess.run(add, check=True)
        try:
            build = [sys.executable, "setup.py", "build_ext", "--inplace"]
            subprocess.run(build, cwd=old, check=True, capture_output=True)
            for n in args.files:
                repo = make_repo(n)
                rows: dict[str, list[float]] = {
                    "old map": [],
                    "cold map": [],
                    "warm map": [],
                    "old list": [],
                    "new list": [],
                }
                for run in range(args.runs):
                    cache = scratch / f"cache-{n}-{run}"
                    rows["old map"].append(measure(old, MAP, repo, scratch / "old-cache")["seconds"])
                    cold = measure(ROOT, MAP, repo, cache)
                    rows["cold map"].append(cold["seconds"])
                    rows["warm map"].append(measure(ROOT, MAP, repo, cache)["seconds"])
                    rows["old list"].append(measure(old, FILES, repo, cache)["seconds"])
                    rows["new list"].append(measure(ROOT, FILES, repo, cache)["seconds"])
                med = {k: statistics.median(v) for k, v in rows.items()}
                print(
                    f"{time.strftime('%Y-%m-%d %H:%M')} load {os.getloadavg()[0]:.1f}, {n} files, median of "
                    f"{args.runs}: map {args.against} {med['old map']:.2f} s (first 2,000 paths by name), "
                    f"this tree cold {med['cold map']:.2f} s, warm {med['warm map']:.2f} s (all files); "
                    f"file list per step {args.against} {med['old list']:.3f} s, this tree "
                    f"{med['new list']:.4f} s ({med['old list'] / max(med['new list'], 1e-6):.0f}x)",
                    flush=True,
                )
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)


if __name__ == "__main__":
    main()
