"""`rudder replay` on a bad file: one clear error naming the file (and line), a non-zero exit, no traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder.cli import app

GOOD_RUN = '{"type": "run", "task": "t", "mode": "neutral", "model": "m"}\n'


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "no records"),
        (b"\n\n  \n", "no records"),
        (os.urandom(64) + b"\xff\xfe", "not a UTF-8 text file"),
        (b'{"type": "step"}\n', ":1: "),
        (b'["a", "list"]\n', ":1: expected a JSON object"),
        (b'{"task": "no type"}\n', ":1: type"),
        (GOOD_RUN.encode() + b'{"type": "step", "index": "first", "kind": "edit", "mode": "x"}\n', ":2: index"),
        (GOOD_RUN.encode() + b'{"type": "end", "steps": 1}\n', ":2: status"),
        (GOOD_RUN.encode() + b'{"type": "end", "status": "exploded", "steps": 1, "tokens": 1}\n', ":2: status"),
        (b'{"type": "run", "mode": "neutral"}\n', ":1: task"),
        (b"not json at all\n", ":1: not a JSON line"),
    ],
    ids=[
        "empty",
        "blank",
        "random-bytes",
        "step-missing-fields",
        "not-an-object",
        "no-type",
        "bad-index",
        "end-missing-fields",
        "bad-status",
        "run-missing-task",
        "not-json",
    ],
)
def test_a_bad_trajectory_is_one_clear_error(tmp_path: Path, runner: CliRunner, content: bytes, expected: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    result = runner.invoke(app, ["replay", str(path)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert str(path) in result.output
    assert expected in result.output
    assert "Traceback" not in result.output


def test_an_unknown_record_type_is_skipped_with_a_note(tmp_path: Path, runner: CliRunner) -> None:
    """Newer Rudders may add record types; an old replay shows what it knows and says what it skipped."""
    path = tmp_path / "run.jsonl"
    path.write_text(GOOD_RUN + '{"type": "manifest", "model_sha256": "abc"}\n')
    result = runner.invoke(app, ["replay", str(path)])
    assert result.exit_code == 0, result.output
    assert "task: t" in result.output and "skipped 1 record of unknown type: manifest" in result.output
