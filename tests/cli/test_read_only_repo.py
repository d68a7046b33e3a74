"""A read-only repository is refused in one line before the model loads (it was an EROFS traceback after)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rudder.tools.sandbox import bwrap_works
from tests.helpers import make_repo

BWRAP = shutil.which("bwrap")
pytestmark = pytest.mark.skipif(
    BWRAP is None or not bwrap_works(BWRAP),
    reason="needs bubblewrap to mount the repository read-only (as root, chmod a-w does not stop writes)",
)


def rudder_with_read_only(read_only: Path, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m rudder ARGS` in `repo`, with `read_only` mounted read-only (a real EROFS) and all else as is."""
    assert BWRAP is not None
    command = [BWRAP, "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--ro-bind", str(read_only),
               str(read_only), "--chdir", str(repo), "--", sys.executable, "-m", "rudder", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize(
    ("command", "mounted"),
    [(["run", "write hi to a.txt"], "repo"), ([], ".git")],  # `rudder run`; the TUI
)
def test_a_read_only_repository_is_one_error_before_the_model_loads(
    tmp_path: Path, mounted: str, command: list[str]
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"README.md": "hi\n"})
    read_only = repo if mounted == "repo" else repo / ".git"
    missing_model = str(tmp_path / "no-such-model.gguf")  # reached only if the check came too late
    done = rudder_with_read_only(read_only, repo, *command, "--model", missing_model)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert f"{read_only} is on a read-only file system" in output, output
    assert "Traceback" not in output and "no-such-model" not in output
    assert len(output.strip().splitlines()) == 1, output
