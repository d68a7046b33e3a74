"""grep: matches as file:line: text, gitignore respected, invalid regex explained, escapes refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rudder.tools.base import PathEscapeError, ToolError


def test_grep_finds_lines(call, root: Path) -> None:
    (root / "src" / "util.py").write_text("import os\n\ndef helper():\n    return os.getcwd()\n")
    out = call("grep", pattern=r"def \w+\(")
    assert out.splitlines() == ["src/app.py:1: def main():", "src/util.py:3: def helper():"]


def test_grep_ignore_case_glob_and_path(call, root: Path) -> None:
    (root / "notes.md").write_text("TODO: write docs\n")
    (root / "src" / "todo.py").write_text("# todo: tests\n")
    assert call("grep", pattern="todo", ignore_case=True).splitlines() == [
        "notes.md:1: TODO: write docs",
        "src/todo.py:1: # todo: tests",
    ]
    assert call("grep", pattern="todo", ignore_case=True, glob="*.py") == "src/todo.py:1: # todo: tests"
    assert call("grep", pattern="todo", path="src") == "src/todo.py:1: # todo: tests"
    assert call("grep", pattern="todo", path="src/todo.py") == "src/todo.py:1: # todo: tests"


def test_grep_respects_gitignore_and_skips_binary(call, root: Path) -> None:
    (root / "run.log").write_text("needle in a log\n")
    (root / "build").mkdir()
    (root / "build" / "gen.py").write_text("needle = 1\n")
    (root / "data.bin").write_bytes(b"\x00needle\x00")
    (root / "keep.txt").write_text("a needle\n")
    out = call("grep", pattern="needle")
    assert out.splitlines() == ["keep.txt:1: a needle", "[1 binary, large or unreadable files skipped]"]


def test_grep_no_match_and_invalid_regex(call) -> None:
    assert call("grep", pattern="zebra") == "no matches for 'zebra' in 3 files under ."
    with pytest.raises(ToolError, match=r"invalid regex '\(unclosed': missing \) at position 9"):
        call("grep", pattern="(unclosed")


def test_grep_caps_matches_with_a_note(call, root: Path) -> None:
    (root / "many.txt").write_text("hit\n" * 500)
    lines = call("grep", pattern="hit").splitlines()
    assert len(lines) == 101
    assert lines[-1] == "[400 more matches not shown; narrow the pattern, path or glob]"


def test_grep_does_not_follow_links_out(call, root: Path, outside: Path) -> None:
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "filelink").symlink_to(outside / "secret.txt")
    assert call("grep", pattern="SECRET").startswith("no matches")
    for path in ("link", "filelink", "../outside", "/tmp", "link/secret.txt"):
        with pytest.raises(PathEscapeError):
            call("grep", pattern="SECRET", path=path)


def test_grep_catastrophic_regex_times_out_with_clear_error(call, root: Path, monkeypatch) -> None:
    from rudder.tools import search

    monkeypatch.setattr(search, "GREP_SECONDS", 0.3)
    (root / "evil.txt").write_text("a" * 40 + "b\n")
    started = time.monotonic()
    with pytest.raises(ToolError, match=r"regex '\(a\|aa\)\+\$' took longer than 0.3 s"):
        call("grep", pattern="(a|aa)+$")
    # unbounded, this regex takes ~2^40 steps; the bound is loose because a loaded machine took 2.3 s
    assert time.monotonic() - started < 10
