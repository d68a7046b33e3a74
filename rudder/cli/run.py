"""`rudder run`: the agent without a terminal UI (replay and undo are in history.py)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from rudder.agent.approval import ApprovalRequest, Decision
from rudder.agent.events import (
    Event,
    Listener,
    ModeSwitched,
    Notice,
    RunStarted,
    StepFinished,
    StepRetried,
    StepStarted,
    Token,
)
from rudder.agent.factory import open_session, save_recording
from rudder.agent.instructions import describe_files
from rudder.agent.records import trajectory_path
from rudder.cli import display
from rudder.cli.options import (
    CtxOpt,
    ModelOpt,
    RepoOpt,
    SeedOpt,
    TempOpt,
    ThreadsOpt,
    VerboseOpt,
    build_config,
    fail,
    warn_mode_problems,
)
from rudder.cli.output_format import JsonLines, OutputFormat, event_json, result
from rudder.cli.progress import StepSpinner
from rudder.engine.factory import load_engine
from rudder.engine.model_file import ModelLoadError
from rudder.modes.registry import ModeError, get_mode, scan_modes
from rudder.tools.base import ToolError
from rudder.tools.gitops import CheckpointError, Checkpoints, find_repo_root
from rudder.tools.gitrepo import read_only_problem
from rudder.tools.runlock import RepoBusy
from rudder.tools.sandbox import SandboxUnavailable
from rudder.vectors.extraction.recording import RecordingError, parse_layers_arg, recording_path
from rudder.vectors.vector import VectorError

console = Console(stderr=True)
spinner = StepSpinner(console)  # the current step on a terminal, unless the tokens themselves are shown
_prompting = threading.Event()  # an approval prompt is waiting for the user (Ctrl-C must unblock it)


def _repo(path: Path) -> Path:
    try:
        return find_repo_root(path)
    except ToolError as exc:
        raise fail(str(exc)) from None


def _refuse_if_busy(root: Path) -> None:
    """A second run in this work tree is refused before the model loads (the session's lock decides)."""
    try:
        owner = Checkpoints(root).lock.owner()
    except CheckpointError:
        return  # no checkpoints here (not possible in a repo found above): the session runs without them
    if owner is not None:
        raise fail(str(RepoBusy.held_by(owner)))


def _ask(request: ApprovalRequest) -> Decision:
    spinner.stop()  # the question needs the line; the spinner comes back with the next step
    if not sys.stdin.isatty():
        request.message = (
            "no terminal to ask on: changes to .git, .rudder and .rudder.toml always need a person's yes, "
            "whatever --approval says (run interactively, or make that change yourself)"
            if request.sensitive
            else "no terminal to ask on (use --approval auto to allow without asking)"
        )
        return Decision.REJECT
    console.print(Text.assemble((request.tool, "yellow"), f" wants to {request.access}: {request.reason}"))
    if request.server is not None:  # an MCP tool: its server, its own tool name, then the arguments below
        console.print(f"MCP server {request.server}, tool {request.tool.removeprefix(request.server + '.')}")
    detail = request.diff or request.command or json.dumps(request.arguments, ensure_ascii=False)[:2000]
    console.print(Syntax(detail, "diff" if request.diff else "text", theme="ansi_dark", word_wrap=True))
    _prompting.set()
    try:
        answer = typer.prompt("allow? [y]es once / [a]lways / [n]o", default="n").strip().lower()
    except (typer.Abort, KeyboardInterrupt, EOFError):  # Ctrl-C at the prompt: the session is stopping
        return Decision.REJECT
    finally:
        _prompting.clear()
    if answer.startswith("a"):
        return Decision.ALLOW_ALWAYS
    return Decision.ALLOW_ONCE if answer.startswith("y") else Decision.REJECT


def make_listener(show_tokens: bool) -> Listener:
    """Prints a live run's events on stderr (model and tool text as plain text, see display.py)."""

    def listen(event: Event) -> None:
        if isinstance(event, RunStarted):  # the header: which instruction files the model reads
            console.print(
                display.plain(f"instructions: {describe_files(event.manifest.get('instructions', []))}", "dim")
            )
        elif isinstance(event, StepStarted):
            display.print_step_start(console, event.index, event.kind, event.mode)
            if not show_tokens:
                spinner.start(f"step {event.index} ({event.kind}, mode {event.mode})")
        elif isinstance(event, Token):
            if show_tokens:
                console.print(display.plain(event.text), end="")
            else:
                spinner.token()
        elif isinstance(event, ModeSwitched):
            console.print(display.plain(f"mode {event.old} -> {event.new}", "magenta"))
        elif isinstance(event, StepRetried):
            note = f"{event.mode}'s reply set aside ({event.reason}); asked again without the mode"
            console.print(display.plain(("\n" if show_tokens else "") + note, "yellow"))
        elif isinstance(event, Notice):
            spinner.stop()
            console.print(display.plain(f"warning: {event.text}", "yellow"))
        elif isinstance(event, StepFinished):
            spinner.stop()
            display.print_step(console, event.record.model_dump(mode="json"), header=False)

    return listen


@contextmanager
def _ctrl_c_stops(session: Any) -> Iterator[list[bool]]:
    """The first Ctrl-C stops the session cleanly (generation within a token, a running command killed,
    the trajectory finished); a second one, or one at an approval prompt, raises KeyboardInterrupt."""
    pressed: list[bool] = []

    def handler(signum: int, frame: Any) -> None:
        pressed.append(True)
        session.interrupt()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        console.print(display.plain("interrupted: stopping (Ctrl-C again to quit at once)", "yellow"))
        if _prompting.is_set():
            raise KeyboardInterrupt  # unblocks the approval prompt, which then rejects

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


def _trajectory_file(root: Path, given: Path) -> Path:
    """--trajectory: a file, or a directory to put a new one in (named as by default); checked writable before
    the model loads."""
    path = trajectory_path(root, given.resolve()) if given.is_dir() else given
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise fail(f"--trajectory {given}: cannot write {exc.filename or path}: {exc.strerror}") from None
    return path


def print_summary(summary: dict[str, Any]) -> None:
    display.print_summary(console, summary)


def run(
    task: Annotated[str, typer.Argument(metavar="TASK", help="what the agent should do")],
    repo: RepoOpt = Path("."),
    mode: Annotated[
        str | None, typer.Option("--mode", help="mode name (rudder modes list) [default: the config's, neutral]")
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", min=1, help="tool calls before stopping [default: 20]")
    ] = None,
    approval: Annotated[
        str | None,
        typer.Option(
            help="auto, ask or read-only [default: writes run, shell runs in the sandbox or needs a yes, "
            ".git/.rudder writes always need a yes]"
        ),
    ] = None,
    plan: Annotated[
        bool | None, typer.Option("--plan/--no-plan", help="start with a free-text plan step [default: no-plan]")
    ] = None,
    trajectory: Annotated[
        Path | None,
        typer.Option(help="trajectory file, or a directory to put it in [default: .git/rudder/trajectories/]"),
    ] = None,
    stream: Annotated[bool, typer.Option(help="show the model's tokens as they come (on stderr)")] = False,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--output-format",
            help="stdout for people (text) or scripts: json = one object at the end, stream-json = one event "
            "per line as it happens (schemas: docs/conventions.md)",
        ),
    ] = OutputFormat.TEXT,
    record_activations: Annotated[
        str | None,
        typer.Option(
            "--record-activations",
            help="LAYERS (e.g. 14 or 10,14,18): keep each step's residual there, beside the trajectory",
        ),
    ] = None,
    model: ModelOpt = None,
    temperature: TempOpt = None,
    seed: SeedOpt = None,
    n_ctx: CtxOpt = None,
    threads: ThreadsOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run the agent on TASK in a git repository until it finishes or hits a limit; write a trajectory.

    Exit status: 0 when the agent called finish, 1 otherwise (130 interrupted, 2 bad input). With
    --output-format json or stream-json, stdout carries JSON only; progress stays on stderr.
    """
    if not task.strip():
        raise fail('the task is empty; say what the agent should do, e.g. rudder run "fix the typo in README.md"')
    root = _repo(repo)
    if problem := read_only_problem(root):
        raise fail(problem)
    _refuse_if_busy(root)
    agent = {"max_steps": max_steps, "approval": approval, "plan_first": plan}
    config = build_config(
        root,
        model=model,
        n_ctx=n_ctx,
        threads=threads,
        verbose=verbose,
        temperature=temperature,
        seed=seed,
        agent=agent,
    )
    selected = mode or config.agent.mode
    try:
        get_mode(selected, root)  # a bad or unknown mode is refused before the model loads
    except ModeError as exc:
        raise fail(str(exc)) from None
    warn_mode_problems(scan_modes(root).problems, except_name=selected.split("/")[0])
    if trajectory is not None:
        trajectory = _trajectory_file(root, trajectory)
    listener = make_listener(stream)
    if output_format == OutputFormat.STREAM_JSON:
        lines, show = JsonLines(sys.stdout), listener

        def listener(event: Event) -> None:
            lines.write(event_json(event))
            show(event)

    try:
        engine = load_engine(config.model)
        layers = parse_layers_arg(record_activations, engine.info.n_layer) if record_activations else None
        session = open_session(
            engine,
            root,
            config.agent,
            config.sampling,
            mode=mode,
            approver=_ask,
            listener=listener,
            trajectory=trajectory,
            record_layers=layers,
            mcp_servers=config.mcp.enabled(),
        )
    except (ModelLoadError, ModeError, VectorError, SandboxUnavailable, RecordingError) as exc:
        raise fail(str(exc)) from None
    try:
        with _ctrl_c_stops(session) as interrupted:
            summary = session.run(task)
    except ValueError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:  # a second Ctrl-C: the session's finally has written the trajectory's end
        console.print(display.plain(f"interrupted; trajectory: {session.trajectory.path}", "yellow"))
        raise typer.Exit(130) from None
    finally:
        spinner.stop()  # a run that ends inside a step (an error, Ctrl-C) leaves no spinner line behind
        session.close()  # its MCP servers
        if session.recorder is not None and session.trajectory.path is not None:
            saved = save_recording(session, recording_path(session.trajectory.path), task=task, files=[], passed=None)
            console.print(display.plain(f"activations: {saved}", "dim"))
        engine.close()
    code = 130 if interrupted else 0 if summary.status == "finished" else 1
    print_summary(summary.model_dump(mode="json"))
    if output_format == OutputFormat.TEXT and summary.answer:
        typer.echo(summary.answer)
    elif output_format != OutputFormat.TEXT:
        JsonLines(sys.stdout).write(result(session, summary, code).model_dump(mode="json"))
    console.print(display.plain(f"trajectory: {session.trajectory.path}", "dim"))
    raise typer.Exit(code)
