"""`rudder` with no sub-command: the terminal UI in the current repository."""

from __future__ import annotations

import os
from pathlib import Path

from rudder.cli.options import build_config, fail
from rudder.modes.registry import ModeError, load_modes
from rudder.tools.base import ToolError
from rudder.tools.gitops import find_repo_root
from rudder.tools.gitrepo import read_only_problem


def open_tui(
    repo: Path, mode: str | None, model: Path | None, approval: str | None, n_ctx: int | None, threads: int | None
) -> None:
    try:
        root = find_repo_root(repo)
    except ToolError as exc:
        raise fail(f"{exc} (Rudder works inside a git repository: run `git init` first)") from None
    if problem := read_only_problem(root):
        raise fail(problem)
    config = build_config(root, model=model, n_ctx=n_ctx, threads=threads, agent={"approval": approval})
    if approval is None and "approval" not in config.agent.model_fields_set:
        config.agent.approval = "ask"  # in the UI someone is there to answer: confirm writes and shell
    try:
        modes = load_modes(root)
    except ModeError as exc:
        raise fail(str(exc)) from None
    if mode is not None and mode not in modes:
        raise fail(f"no mode named {mode!r}; available: {', '.join(sorted(modes))}")
    # Textual draws at most TEXTUAL_FPS frames a second, so a key waits up to one frame for its echo: 120
    # halves that wait (frames are drawn only when something changed; the transcript changes <= 25x/s)
    os.environ.setdefault("TEXTUAL_FPS", "120")
    from rudder.ui.app import RudderApp  # Textual loads only when the UI starts

    RudderApp(root, config, mode=mode).run()
