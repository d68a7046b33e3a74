"""`rudder run`, `rudder replay`, `rudder undo`: the agent without a terminal UI."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from rudder.cli.options import CtxOpt, ModelOpt, RepoOpt, SeedOpt, TempOpt, ThreadsOpt, VerboseOpt, build_config, fail

if TYPE_CHECKING:  # the agent, tools and llama.cpp load only when a command needs them
    from rudder.agent.protocol import ToolCall
    from rudder.tools.base import Tool

console = Console(stderr=True)


def _repo(path: Path) -> Path:
    from rudder.tools.base import ToolError
    from rudder.tools.gitops import find_repo_root

    try:
        return find_repo_root(path)
    except ToolError as exc:
        raise fail(str(exc)) from None


def _ask(call: ToolCall, tool: Tool) -> bool:
    if not sys.stdin.isatty():
        return False
    console.print(f"[yellow]{call.tool}[/] {json.dumps(call.arguments())[:300]}")
    return typer.confirm("allow?", default=False)


def _printer(show_tokens: bool) -> Any:
    def listen(event: str, data: dict[str, Any]) -> None:
        if event == "step_start":
            console.print(f"[dim]step {data['index']} ({data['kind']}, mode {data['mode']})[/]")
        elif event == "token" and show_tokens:
            console.print(data["text"], end="", markup=False, highlight=False)
        elif event == "step":
            _print_step(data, header=False)

    return listen


def run(
    task: Annotated[str, typer.Argument(help="what the agent should do")],
    repo: RepoOpt = Path("."),
    mode: Annotated[str | None, typer.Option("--mode", help="mode name (rudder modes list)")] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="tool calls before stopping")] = None,
    approval: Annotated[str | None, typer.Option(help="auto, ask or read-only")] = None,
    plan: Annotated[bool | None, typer.Option("--plan/--no-plan", help="start with a free-text plan step")] = None,
    trajectory: Annotated[
        Path | None, typer.Option(help="trajectory file [default: .git/rudder/trajectories/]")
    ] = None,
    stream: Annotated[bool, typer.Option(help="show the model's tokens as they come")] = False,
    model: ModelOpt = None,
    temperature: TempOpt = None,
    seed: SeedOpt = None,
    n_ctx: CtxOpt = None,
    threads: ThreadsOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run the agent on TASK in a git repository until it finishes or hits a limit; write a trajectory.

    Exit status: 0 when the agent called finish, 1 otherwise.
    """
    from rudder.agent.factory import open_session
    from rudder.engine.engine import Engine
    from rudder.engine.model_file import ModelLoadError
    from rudder.modes.registry import ModeError
    from rudder.vectors.vector import VectorError

    root = _repo(repo)
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
    try:
        engine = Engine(config.model)
        session = open_session(
            engine,
            root,
            config.agent,
            config.sampling,
            mode=mode,
            approver=_ask,
            listener=_printer(stream),
            trajectory=trajectory,
        )
    except (ModelLoadError, ModeError, VectorError) as exc:
        raise fail(str(exc)) from None
    summary = session.run(task)
    engine.close()
    console.print(
        f"[bold]{summary.status}[/] after {summary.steps} steps, {summary.tokens} tokens, "
        f"{summary.wall_seconds:.1f} s ({summary.protocol_errors} invalid calls, {summary.tool_errors} tool errors)"
    )
    if summary.answer:
        typer.echo(summary.answer)
    if summary.error:
        console.print(f"[red]{summary.error}[/]")
    console.print(f"[dim]trajectory: {session.trajectory.path}[/]")
    raise typer.Exit(0 if summary.status == "finished" else 1)


def _print_step(step: dict[str, Any], *, header: bool = True) -> None:
    if header:
        console.print(f"[bold]step {step['index']}[/] {step['kind']} (mode {step['mode']})")
    for phase, vectors in step.get("steering", {}).items():
        if vectors:
            used = ", ".join(f"{v['vector']} ×{v['scale']:g}" for v in vectors)
            console.print(f"  [magenta]steering ({phase}): {used}[/]")
    if step.get("tool"):
        console.print(f"  [cyan]{step['tool']}[/] {json.dumps(step.get('arguments') or {}, ensure_ascii=False)[:200]}")
    elif step.get("output"):
        console.print(f"  [cyan]wrote[/] {step['output'][:200]}")
    observation = (step.get("observation") or "").strip()
    if observation:
        colour = "green" if step.get("ok", True) else "red"
        lines = observation.splitlines()
        more = f" [dim](+{len(lines) - 6} lines)[/]" if len(lines) > 6 else ""
        console.print(f"  [{colour}]" + "\n  ".join(lines[:6]) + f"[/]{more}", highlight=False)
    console.print(
        f"  [dim]{step.get('generated_tokens', 0)} tokens, gen {step.get('generate_seconds', 0):.2f} s, "
        f"tool {step.get('tool_seconds', 0):.2f} s[/]"
    )


def replay(path: Annotated[Path, typer.Argument(help="a trajectory JSONL file", exists=True, dir_okay=False)]) -> None:
    """Print a recorded run: the task, every step with its steering, call and observation, the outcome."""
    from rudder.agent.records import read_trajectory

    try:
        records = read_trajectory(path)
    except ValueError as exc:
        raise fail(str(exc)) from None
    for record in records:
        if record["type"] == "run":
            console.print(f"[bold]task:[/] {record['task']}\n[dim]mode {record['mode']}, model {record['model']}[/]")
        elif record["type"] == "step":
            _print_step(record)
        elif record["type"] == "end":
            console.print(
                f"[bold]{record['status']}[/]: {record.get('answer') or record.get('error') or ''} "
                f"({record['steps']} steps, {record['tokens']} tokens, {record['wall_seconds']:.1f} s)"
            )


def undo(
    checkpoint: Annotated[str | None, typer.Argument(help="checkpoint id [default: the latest step]")] = None,
    repo: RepoOpt = Path("."),
    list_: Annotated[bool, typer.Option("--list", help="list checkpoints instead")] = False,
    force: Annotated[bool, typer.Option(help="undo even if the files changed again since")] = False,
) -> None:
    """Undo an agent step: restore exactly the files it changed, leaving your commits and other files alone."""
    from rudder.tools.base import ToolError
    from rudder.tools.gitops import Checkpoints

    checkpoints = Checkpoints(_repo(repo))
    try:
        if list_:
            for entry in checkpoints.list():
                console.print(entry.describe())
            return
        restored = checkpoints.undo(checkpoint, force=force)
    except ToolError as exc:
        raise fail(str(exc)) from None
    console.print(restored)
