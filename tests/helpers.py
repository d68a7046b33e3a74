"""Helpers shared by test packages (fixtures live in conftest.py files)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import git


def make_repo(path: Path, files: dict[str, str] | None = None) -> git.Repo:
    """A real git repository with a committer identity and, if given, `files` committed as "init"."""
    path.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(path, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Test User")
        config.set_value("user", "email", "test@example.com")
        config.set_value("commit", "gpgsign", "false")
    if files:
        for name, content in files.items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_text(content)
        repo.index.add(list(files))
        repo.index.commit("init")
    return repo


@contextmanager
def graph_evaluations(engine: Any) -> Iterator[list[int]]:
    """Tokens in each graph evaluation while the block runs, read from the graph itself (the width of
    node l_out-0), not from the engine's own accounting: what really went through the model."""
    seen: list[int] = []

    def observe(name: str, _type: int, ne: tuple[int, int, int, int]) -> None:
        if name == "l_out-0":
            seen.append(ne[1])

    engine.hook.set_observer(observe)
    try:
        yield seen
    finally:
        engine.hook.set_observer(None)
