"""Fixtures for the tool tests: a real git repository in tmp_path and a way to call tools by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import git
import pytest

from rudder.tools.base import Workspace
from rudder.tools.toolbox import TOOLS_BY_NAME
from tests.helpers import make_repo


@pytest.fixture
def repo(tmp_path: Path) -> git.Repo:
    """A repository with one commit: README.md, src/app.py, .gitignore (ignores *.log and build/)."""
    repo = make_repo(tmp_path / "repo")
    root = Path(repo.working_tree_dir)
    (root / "README.md").write_text("# Demo\n")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("def main():\n    return 1\n")
    (root / ".gitignore").write_text("*.log\nbuild/\n")
    repo.index.add(["README.md", "src/app.py", ".gitignore"])
    repo.index.commit("initial")
    return repo


@pytest.fixture
def root(repo: git.Repo) -> Path:
    return Path(repo.working_tree_dir).resolve()


@pytest.fixture
def ws(root: Path) -> Workspace:
    return Workspace(root, shell_timeout=20)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to the repository, with a secret file the tools must never reach."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("TOP SECRET\n")
    return folder


Call = Callable[..., str]


@pytest.fixture
def call(ws: Workspace) -> Call:
    """call("read_file", path="x") runs the named tool with validated arguments, like the agent does."""

    def run(name: str, **arguments: object) -> str:
        spec = TOOLS_BY_NAME[name]
        return spec.run(ws, spec.args(**arguments))

    return run
