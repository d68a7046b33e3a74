"""Rudder: a local coding agent steered from the inside.

The model runs in this process (llama.cpp); steering vectors are added to its residual stream while it
writes, and modes swap them per agent step.

Examples:

\b
    rudder                                       # the terminal UI in the current repo
    rudder chat                                  # plain streaming chat with the embedded model
    rudder run "add a --verbose flag to cli.py"  # headless agent run in the current repo
    rudder run "explain src/" --mode explain     # with a mode: steering + prompt + tool policy
    rudder replay .git/rudder/trajectories/<run>.jsonl
    rudder undo                                  # revert the agent's last step
    rudder vectors extract data.jsonl -o terse.gguf
    rudder vectors apply terse.gguf "Explain recursion" --scale 0.05
    rudder vectors check terse.gguf              # health: consistency, AUROC vs a permutation null
    rudder vectors calibrate terse.gguf          # sweep scales, pick the strongest before damage
    rudder modes list
    rudder doctor                                # the model, CPU, sandbox, config and vectors Rudder sees
    rudder ab run --suite suites/starter --arms neutral,fast-draft --out ab/   # A/B on a task suite
    rudder ab report ab/                         # pass rates, paired tests, verdict (md + html)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from rudder import __version__
from rudder.cli.lazy import lazy_group
from rudder.cli.options import CtxOpt, ModelOpt, RepoOpt, ThreadsOpt

# Each command's module loads only when that command runs: `rudder --help` imports neither llama.cpp nor
# the agent and tools (tests/cli/test_lazy.py keeps the one-line helps here equal to the real ones).
COMMANDS = {
    "chat": ("rudder.cli.chat:chat", "Chat with the model, streaming its answers."),
    "run": (
        "rudder.cli.run:run",
        "Run the agent on TASK in a git repository until it finishes or hits a limit; write a trajectory.",
    ),
    "replay": (
        "rudder.cli.history:replay",
        "Print a recorded run: the task, every step with its steering, call and observation, the outcome.",
    ),
    "undo": (
        "rudder.cli.history:undo",
        "Undo an agent step: restore exactly the files it changed, leaving your commits and other files alone.",
    ),
    "acp": (
        "rudder.cli.acp:acp",
        "Serve Rudder to an editor over the Agent Client Protocol (JSON-RPC on stdin/stdout).",
    ),
    "vectors": ("rudder.cli.vectors:app", "Extract, inspect, convert and try steering vectors."),
    "modes": ("rudder.cli.modes:app", "List, show and check modes (bundles of steering, sampling and prompt)."),
    "ab": ("rudder.cli.ab:app", "A/B experiments: suite × arms (modes) × epochs, then paired statistics."),
    "doctor": (
        "rudder.cli.doctor:doctor",
        "Check the setup: the model (architecture, profile, template), the CPU, the sandbox, config and vectors.",
    ),
}

# Options the root takes for the UI that a command may take too: `rudder -C DIR run ...` is `rudder run -C DIR ...`.
SHARED = ("repo", "mode", "approval", "model", "n_ctx", "threads")


class RootGroup(lazy_group(COMMANDS)):  # type: ignore[misc]
    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        """Also notes the command that will run (`vectors check` inside `vectors`) for _pass_shared_options."""
        name, command, rest = super().resolve_command(ctx, args)
        path, leaf, remaining = [name or ""], command, rest
        while _is_group(leaf) and remaining and not remaining[0].startswith("-"):
            sub = leaf.get_command(ctx, remaining[0])
            if sub is None:
                break
            path.append(remaining[0])
            leaf, remaining = sub, remaining[1:]
        ctx.meta["rudder.leaf"] = (path, leaf)
        return name, command, rest


def _is_group(command: object) -> bool:
    return hasattr(command, "commands")  # typer vendors its own click: no isinstance against click's classes


def _pass_shared_options(ctx: typer.Context) -> None:
    """Options given before the command go to it, as if written after it; an option it does not take is
    refused (not silently dropped): `rudder -C DIR run x` works, `rudder --mode fast vectors show terse` not."""
    given = {n: ctx.params[n] for n in SHARED if getattr(ctx.get_parameter_source(n), "name", "") == "COMMANDLINE"}
    if not given:
        return
    path, leaf = ctx.meta.get("rudder.leaf", ([], None))
    takes = {param.name for param in getattr(leaf, "params", [])}
    flags = {param.name: param.opts[-1] for param in ctx.command.params}
    refused = [flags[n] for n in given if n not in takes or _is_group(leaf)]
    if refused:
        ctx.fail(f"`rudder {' '.join(path)}` has no option {', '.join(refused)}")
    defaults: dict[str, Any] = given
    for name in reversed(path):  # a subcommand's context reads its defaults from default_map[its name]
        defaults = {name: defaults}
    ctx.default_map = defaults


app = typer.Typer(
    cls=RootGroup,
    help=__doc__,
    no_args_is_help=False,
    invoke_without_command=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rudder {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="show the version"),
    repo: RepoOpt = Path("."),
    mode: str | None = typer.Option(None, "--mode", help="the mode to start in (rudder modes list)"),
    approval: str | None = typer.Option(None, help="auto, ask or read-only [default in the UI: ask]"),
    model: ModelOpt = None,
    n_ctx: CtxOpt = None,
    threads: ThreadsOpt = None,
) -> None:
    """Without a command: the terminal UI (agent transcript, approvals, modes, steering) in the current repo."""
    if ctx.invoked_subcommand is not None:
        _pass_shared_options(ctx)
        return
    from rudder.cli import tui

    tui.open_tui(repo, mode, model, approval, n_ctx, threads)
