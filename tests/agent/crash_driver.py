"""A `rudder run` stand-in for crash tests: a real Session (real tools, git, checkpoints, run lock,
trajectory) on a scripted model, in its own process, doing one write step, so a test can kill -9 it at a
random moment and look at what is left.

    python -m tests.agent.crash_driver REPO write|shell|'{"tool": ..., ...}'

prints "ready" just before the run starts. Also the kill loop itself (used by the test and by
bench/crash_checkpoints.py): `kill_loop(...)` returns what each iteration found.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import make_repo

PROJECT = Path(__file__).resolve().parents[2]
FILES = {"README.md": "# demo\n", "src/app.py": "print('hi')\n", ".gitignore": ".env\n"}
SECRET = "TOKEN=do-not-lose-me\n"
# ~1.3 MB that never repeats (a repeating call is cut off as a runaway): the write takes a moment
BIG = "".join(hashlib.sha256(str(i).encode()).hexdigest() + "\n" for i in range(20000))
SHELL = (
    "mkdir -p out; for i in $(seq 1 25); do echo $i > out/f$i.txt; sleep 0.01; done; rm -f .env; echo more >> README.md"
)
STEPS = {
    "write": {"tool": "write_file", "path": "src/big.txt", "content": BIG},  # new: no read needed first
    "shell": {"tool": "run_shell", "command": SHELL},
}


def build_session(repo: Path, replies: list[str]) -> Any:
    """A Session as `rudder run --approval auto` makes one, on a scripted model, shell without sandbox."""
    from rudder.agent.config import AgentConfig
    from rudder.agent.records import Trajectory
    from rudder.agent.session import Session
    from rudder.modes.active import ActiveMode
    from rudder.modes.registry import get_mode
    from rudder.tools.base import Workspace
    from rudder.vectors.steering.plan import UNSTEERED
    from tests.agent.scripted import ScriptedEngine

    class NoSteering:
        plan = UNSTEERED

        def apply(self, plan: object) -> None: ...

        def clear(self) -> None: ...

    def no_vectors(name: str) -> object:
        raise AssertionError(f"the neutral mode names no vectors ({name})")

    return Session(
        ScriptedEngine(replies),  # type: ignore[arg-type]
        Workspace(repo),
        ActiveMode(get_mode("neutral"), no_vectors),  # type: ignore[arg-type]
        config=AgentConfig(approval="auto", plan_first=False, max_steps=4, sandbox="off"),
        steerer=NoSteering(),  # type: ignore[arg-type]
        trajectory=Trajectory(repo / ".git" / "rudder" / "trajectories" / f"{time.time_ns()}.jsonl"),
    )


def main(repo: Path, step: dict[str, Any]) -> None:
    session = build_session(repo, [json.dumps(step), json.dumps({"tool": "finish", "answer": "done"})])
    print("ready", flush=True)
    summary = session.run("crash test")
    print(summary.status, summary.error or "", flush=True)


# -- the kill loop ---------------------------------------------------------------------------------------


@dataclass
class Kill:
    kind: str
    delay: float
    state: str  # what the tree was right after the kill: pre | post | partial
    checkpoint: str  # none | unfinished | finished (this iteration's)
    undo: str  # the undo command's last line


def tree_state(root: Path) -> dict[str, bytes]:
    found = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if rel.parts[0] != ".git" and (path.is_file() or path.is_symlink()):
            found[rel.as_posix()] = path.read_bytes()
    return found


def make_crash_repo(repo: Path) -> None:
    make_repo(repo, FILES)
    (repo / ".env").write_text(SECRET)  # ignored: only the shell step's kept ignored files bring it back


def post_state(pre: dict[str, bytes], kind: str) -> dict[str, bytes]:
    post = dict(pre)
    if kind == "write":
        post["src/big.txt"] = BIG.encode()
    else:
        post.update({f"out/f{i}.txt": f"{i}\n".encode() for i in range(1, 26)})
        post.pop(".env")
        post["README.md"] = pre["README.md"] + b"more\n"
    return post


def start_driver(repo: Path, step: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """The driver in its own process group (a kill takes git and bash children with it), once ready."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.agent.crash_driver", str(repo), step],
        cwd=PROJECT,
        env=env or {**os.environ, "PYTHONPATH": str(PROJECT), "RUDDER_THREADS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", f"the driver did not start: {line!r}"
    return proc


def kill_once(repo: Path, kind: str, delay: float, env: dict[str, str]) -> None:
    proc = start_driver(repo, kind, env)
    time.sleep(delay)
    with contextlib.suppress(ProcessLookupError):  # it may have finished already
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def calibrate(repo: Path, kind: str, env: dict[str, str], pre: dict[str, bytes]) -> float:
    """Seconds from "ready" to the end of an unkilled run (checked: post-step state, undone to pre-step)."""
    from typer.testing import CliRunner

    from rudder.cli import app

    proc = start_driver(repo, kind, env)
    started = time.perf_counter()
    proc.wait(timeout=120)
    seconds = time.perf_counter() - started
    assert tree_state(repo) == post_state(pre, kind), f"an unkilled {kind} run did not reach the post-step state"
    result = CliRunner().invoke(app, ["undo", "--force", "--repo", str(repo)])
    assert result.exit_code == 0 and tree_state(repo) == pre, result.output
    return seconds


def kill_loop(workdir: Path, kills: int, seed: int, spread: float = 1.2) -> list[Kill]:
    """`kills` runs killed with SIGKILL at random delays, each checked: git fsck, the tree is the pre-step
    or post-step state (or partial with an unfinished checkpoint), `rudder undo --force`, tree is pre.

    Delays are uniform over `spread` times an unkilled run's length (measured first, per step kind), so
    kills land before, during and after the step."""
    from typer.testing import CliRunner

    from rudder.cli import app
    from rudder.tools.checkpoints import Checkpoints

    repo = workdir / "repo"
    make_crash_repo(repo)
    pre = tree_state(repo)
    rng = random.Random(seed)
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "RUDDER_THREADS": "1"}
    runner = CliRunner()
    length = {kind: calibrate(repo, kind, env, pre) for kind in STEPS}
    found = []
    for number in range(kills):
        kind = "write" if number % 2 == 0 else "shell"
        delay = rng.uniform(0.0, spread * length[kind])
        begun_before = len(Checkpoints(repo).list())
        kill_once(repo, kind, delay, env)
        fsck = subprocess.run(["git", "fsck", "--no-progress"], cwd=repo, capture_output=True, text=True)
        assert fsck.returncode == 0, f"kill {number}: git fsck failed:\n{fsck.stdout}{fsck.stderr}"
        now = tree_state(repo)
        state = "pre" if now == pre else "post" if now == post_state(pre, kind) else "partial"
        listed = Checkpoints(repo).list()
        mine = listed[begun_before:]
        checkpoint = "none" if not mine else "finished" if mine[-1].finished else "unfinished"
        assert state == "pre" or checkpoint != "none", f"kill {number} ({kind}, {delay:.3f} s): changed, no checkpoint"
        assert state != "partial" or checkpoint == "unfinished", f"kill {number}: partial tree, finished checkpoint"
        if checkpoint == "unfinished":
            assert _trajectory_shows_unfinished(repo), f"kill {number}: the trajectory does not show the step"
        result = runner.invoke(app, ["undo", "--force", "--repo", str(repo)])
        lines = result.output.strip().splitlines()
        assert result.exit_code == 0 or (checkpoint == "none" and "nothing to undo" in result.output), result.output
        after = tree_state(repo)
        differ = sorted(k for k in set(after) | set(pre) if after.get(k) != pre.get(k))
        assert not differ, f"kill {number} ({kind}, {delay:.3f} s, {state}): undo left {differ}: {result.output}"
        found.append(Kill(kind, delay, state, checkpoint, lines[-1] if lines else ""))
    return found


def _trajectory_shows_unfinished(repo: Path) -> bool:
    newest = max((repo / ".git" / "rudder" / "trajectories").glob("*.jsonl"), key=lambda p: p.name)
    records = []
    for line in newest.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # cut short by the kill
    started = {r["step"] for r in records if r.get("type") == "tool"}
    finished = {r["index"] for r in records if r.get("type") == "step"}
    return bool(started - finished)


if __name__ == "__main__":
    main(Path(sys.argv[1]), STEPS[sys.argv[2]] if sys.argv[2] in STEPS else json.loads(sys.argv[2]))
