"""One sample, start to finish, inside a worker: fresh git repo from the fixture → Rudder Session in the
arm's mode → the task's checker. Plain data in (`SampleRequest`), plain data out (`SampleResult`), so the
same function runs in a local worker process or a Ray actor.

Outcomes: `pass` / `fail` are the checker's verdict; anything that kept the sample from being judged
(the agent crashed, the engine failed) raises `InfraError` and is counted apart by the report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rudder.ab.suite import TaskDef
from rudder.tools.safegit import run_git

CHECK_OUTPUT_LIMIT = 4000


class InfraError(RuntimeError):
    """The harness, not the agent, failed (crash, engine error, worker lost, timeout)."""


class SampleRequest(BaseModel):
    task: TaskDef
    arm: str
    epoch: int = 1
    seed: int = 0
    temperature: float = 0.0
    plan_first: bool = False
    record_layers: str | None = None  # --record-activations: residuals per step, saved under record_dir
    record_dir: str | None = None


class SampleResult(BaseModel):
    task_id: str
    arm: str
    epoch: int
    passed: bool
    check_exit: int | None
    check_output: str = ""
    check_timed_out: bool = False
    status: str  # the agent's RunSummary.status
    answer: str = ""
    steps: int = 0
    tool_errors: int = 0
    protocol_errors: int = 0
    tokens: int = 0
    words_per_message: float | None = None
    gate_steps: int = 0  # steps where a conditional vector's gate was read (issue 23's gated modes)
    gate_fired_steps: int = 0  # ... and fired: the correction ran on them
    agent_seconds: float = 0.0
    wall_seconds: float = 0.0
    manifest: dict[str, Any] = Field(default_factory=dict)
    transcript: list[dict[str, Any]] = Field(default_factory=list)  # one entry per step (kind, tool, output, obs)
    worker: str = ""


def gate_counts(steps: list[dict[str, Any]]) -> dict[str, int]:
    """How many steps read a gate and how many of them fired (the trajectory's `gate` readings), kept in
    the A/B log so a report can say how often a gated mode actually steered."""
    read = [s.get("gate") or [] for s in steps]
    return {
        "gate_steps": sum(1 for r in read if r),
        "gate_fired_steps": sum(1 for r in read if any(g.get("fired") for g in r)),
    }


_IDENTITY = {
    "GIT_AUTHOR_NAME": "ab",
    "GIT_AUTHOR_EMAIL": "ab@rudder",
    "GIT_COMMITTER_NAME": "ab",
    "GIT_COMMITTER_EMAIL": "ab@rudder",
}


def _git(repo: Path, *args: str) -> None:
    run_git(repo, *args, env=_IDENTITY, repository=args[0] != "init")


def make_repo(task: TaskDef, parent: Path) -> Path:
    """The fixture in a fresh git repo with one commit (so the agent's changes show as a diff)."""
    repo = parent / "repo"
    repo.mkdir(parents=True)
    for rel, text in task.files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if rel in task.executable:
            path.chmod(0o755)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "fixture")
    return repo


def run_check(task: TaskDef, repo: Path, answer: str = "") -> tuple[int | None, str, bool]:
    """The checker in the repo (hidden check files written first); exit code, output tail, timed out.
    The agent's final answer is in $RUDDER_ANSWER, so question tasks can be checked too."""
    for rel, text in task.check_files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    try:
        proc = subprocess.run(
            task.check,
            shell=True,
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=task.timeout,
            start_new_session=True,
            errors="replace",
            env={**os.environ, "RUDDER_ANSWER": answer},
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"")[-CHECK_OUTPUT_LIMIT:]
        return None, out.decode("utf-8", "replace") if isinstance(out, bytes) else out, True
    return proc.returncode, (proc.stdout + proc.stderr)[-CHECK_OUTPUT_LIMIT:], False


def prose_words(step: dict[str, Any]) -> int | None:
    """Words the model wrote as prose in one step: a plan, a tool call's thought, the finish answer."""
    if step.get("kind") == "plan":
        return len(step.get("output", "").split())
    args = step.get("arguments") or {}
    text = " ".join(str(args[k]) for k in ("thought", "answer") if isinstance(args.get(k), str))
    return len(text.split()) if text.strip() else None


def recording_file(request: SampleRequest) -> Path:
    """Where a sample's recorded activations go: RECORD_DIR/ARM/TASK.eEPOCH.activations.npz."""
    from rudder.vectors.extraction.recording import SUFFIX

    arm = request.arm.replace("/", "+")
    return Path(request.record_dir or ".") / arm / f"{request.task.id.replace('/', '+')}.e{request.epoch}{SUFFIX}"


SAMPLE_PREFIX = "rudder-ab-"


def sample_dir() -> Path:
    """A new temporary folder for one sample's repository, named after this process (`rudder-ab-PID-...`) so a
    later run can tell a killed worker's leftovers from a running one's."""
    return Path(tempfile.mkdtemp(prefix=f"{SAMPLE_PREFIX}{os.getpid()}-"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale_sample_dirs() -> list[Path]:
    """Delete the sample folders whose process is gone (a killed `rudder ab run` never reached its cleanup);
    folders of running processes and anything not named by sample_dir are left alone. Returns those removed."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob(f"{SAMPLE_PREFIX}*-*"):
        pid = path.name.removeprefix(SAMPLE_PREFIX).split("-", 1)[0]
        if path.is_dir() and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def run_sample(engine: Any, request: SampleRequest, worker: str = "") -> SampleResult:
    """Run one (task, arm, epoch) on a loaded engine; raises InfraError when the harness failed."""
    from rudder.agent.config import AgentConfig
    from rudder.agent.events import Event, RunStarted
    from rudder.agent.factory import open_session, save_recording
    from rudder.engine.generation import Sampling
    from rudder.vectors.extraction.recording import parse_layers_arg

    task = request.task
    started = time.perf_counter()
    parent = sample_dir()
    manifest: dict[str, Any] = {}

    def listen(event: Event) -> None:
        if isinstance(event, RunStarted):
            manifest.update(event.manifest)

    try:
        repo = make_repo(task, parent)
        config = AgentConfig(
            max_steps=task.max_steps,
            token_budget=task.budget or 200_000,
            mode=request.arm,
            approval="auto",
            plan_first=request.plan_first,
            reproducible=True,
            shell_timeout=30,
        )
        sampling = Sampling(temperature=request.temperature, seed=request.seed, max_tokens=512)
        try:
            layers = parse_layers_arg(request.record_layers, engine.info.n_layer) if request.record_layers else None
            session = open_session(
                engine, repo, config, sampling, mode=request.arm, listener=listen, record=False, record_layers=layers
            )
            summary = session.run(task.instruction)
        except Exception as exc:
            raise InfraError(f"agent crashed: {type(exc).__name__}: {exc}") from exc
        if summary.status == "error" and summary.error and "ContextOverflow" not in summary.error:
            raise InfraError(f"agent error: {summary.error}")
        steps = [s.model_dump(mode="json") for s in session.history]
        code, output, timed_out = run_check(task, repo, summary.answer)
        words = [w for s in steps if (w := prose_words(s)) is not None]
        if request.record_dir and session.recorder is not None:
            save_recording(
                session,
                recording_file(request),
                task=task.instruction,
                files=list(task.files),
                passed=code == 0,
                task_id=task.id,
                arm=request.arm,
                epoch=request.epoch,
                split=getattr(task, "split", None),
            )
        return SampleResult(
            task_id=task.id,
            arm=request.arm,
            epoch=request.epoch,
            passed=code == 0,
            check_exit=code,
            check_output=output,
            check_timed_out=timed_out,
            status=summary.status,
            answer=summary.answer,
            steps=summary.steps,
            tool_errors=summary.tool_errors,
            protocol_errors=summary.protocol_errors,
            tokens=summary.tokens,
            words_per_message=sum(words) / len(words) if words else None,
            **gate_counts(steps),
            agent_seconds=summary.wall_seconds,
            wall_seconds=time.perf_counter() - started,
            manifest=manifest,
            transcript=[
                {
                    k: s.get(k)
                    for k in ("index", "kind", "mode", "tool", "arguments", "output", "observation", "ok", "gate")
                }
                for s in steps
            ],
            worker=worker,
        )
    finally:
        shutil.rmtree(parent, ignore_errors=True)
