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
    rudder ab run --suite suites/starter --arms neutral,fast-draft --out ab/   # A/B on a task suite
    rudder ab report ab/                         # pass rates, paired tests, verdict (md + html)
"""

from __future__ import annotations

from pathlib import Path

import typer

from rudder import __version__
from rudder.cli import ab, acp, chat, history, modes, run, tui, vectors, vectors_trust
from rudder.cli.options import CtxOpt, ModelOpt, RepoOpt, ThreadsOpt

app = typer.Typer(
    help=__doc__,
    no_args_is_help=False,
    invoke_without_command=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("chat")(chat.chat)
app.command("run")(run.run)
app.command("replay")(history.replay)
app.command("undo")(history.undo)
vectors.app.command("check")(vectors_trust.check_cmd)
app.command("acp")(acp.acp)
vectors.app.command("calibrate")(vectors_trust.calibrate_cmd)
app.add_typer(vectors.app, name="vectors")
app.add_typer(modes.app, name="modes")
app.add_typer(ab.app, name="ab")


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
    if ctx.invoked_subcommand is None:
        tui.open_tui(repo, mode, model, approval, n_ctx, threads)


def main() -> None:
    app()
