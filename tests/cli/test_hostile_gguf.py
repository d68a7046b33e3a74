"""A hostile GGUF where Rudder meets one: named on the command line, as a repository's model, in a library."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder.cli import app
from rudder.vectors.files.library import list_library
from tests.engine.test_gguf_hostile import HOSTILE
from tests.helpers import make_repo


def rudder(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command line (`rudder ...` answers some commands before typer loads)."""
    return subprocess.run([sys.executable, "-m", "rudder", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def one_clear_error(result: subprocess.CompletedProcess[str] | object, name: str) -> None:
    code = getattr(result, "returncode", getattr(result, "exit_code", None))
    output = getattr(result, "stderr", "") + getattr(result, "stdout", "") or getattr(result, "output", "")
    assert code not in (0, None), output
    assert "Traceback" not in output and name in output, output
    assert [line for line in output.splitlines() if line.startswith("error:")] != [], output


@pytest.mark.parametrize("name", ["alignment-zero", "array-2^60"])
def test_vectors_show_names_the_bad_file(tmp_path: Path, name: str) -> None:
    (tmp_path / "v.gguf").write_bytes(HOSTILE[name])
    one_clear_error(rudder("vectors", "show", "v.gguf", cwd=tmp_path), "v.gguf")


@pytest.mark.parametrize("name", ["alignment-zero", "array-2^60", "tensor-dims-overflow"])
def test_model_flag_and_repo_model_path_are_one_error_before_loading(
    tmp_path: Path, runner: CliRunner, name: str
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"README.md": "hi\n"})
    (repo / "m.gguf").write_bytes(HOSTILE[name])
    one_clear_error(runner.invoke(app, ["run", "hi", "--repo", str(repo), "--model", str(repo / "m.gguf")]), "m.gguf")
    (repo / ".rudder.toml").write_text('[model]\nmodel_path = "m.gguf"\n')
    one_clear_error(runner.invoke(app, ["run", "hi", "--repo", str(repo)]), "m.gguf")


def test_a_bad_file_in_a_library_folder_is_skipped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"README.md": "hi\n"})
    (repo / ".rudder" / "vectors").mkdir(parents=True)
    for name in ("alignment-zero", "array-2^60"):
        (repo / ".rudder" / "vectors" / f"{name}.gguf").write_bytes(HOSTILE[name])
    with caplog.at_level(logging.WARNING):
        first = list_library(repo)
        again = list_library(repo)  # a run scans the library once per vector its mode names
    assert first == again and all(".rudder" not in str(entry.path) for entry in first)
    warnings = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(warnings) == 2, warnings
    assert any("alignment-zero.gguf" in w and "general.alignment is 0" in w for w in warnings)
    listed = rudder("modes", "list", cwd=repo)
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
