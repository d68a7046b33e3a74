"""read_file, write_file, edit_file, list_files: happy paths, refusals, and the explanations they give."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rudder.tools.base import PathEscapeError, ToolError, Workspace
from rudder.tools.files import ReadFileArgs, read_file

ESCAPES = ["../outside/secret.txt", "/etc/passwd", "link/secret.txt", "filelink"]


@pytest.fixture
def links(root: Path, outside: Path) -> None:
    """A directory symlink and a file symlink inside the repo, both pointing outside it."""
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "filelink").symlink_to(outside / "secret.txt")


# -- read_file ------------------------------------------------------------------------------------------


def test_read_file_numbers_lines(call) -> None:
    out = call("read_file", path="src/app.py")
    assert out.splitlines() == ["src/app.py (lines 1-2 of 2)", "1| def main():", "2|     return 1"]


def test_read_file_line_range(call, root: Path) -> None:
    (root / "long.txt").write_text("".join(f"line {i}\n" for i in range(1, 101)))
    out = call("read_file", path="long.txt", start_line=10, end_line=12)
    assert out.splitlines() == ["long.txt (lines 10-12 of 100)", "10| line 10", "11| line 11", "12| line 12"]


def test_read_file_truncates_with_a_hint_to_continue(root: Path) -> None:
    (root / "big.txt").write_text("".join(f"line {i} " + "x" * 50 + "\n" for i in range(5000)))
    out = read_file(Workspace(root, output_limit=2000), ReadFileArgs(path="big.txt"))
    assert len(out) < 2500
    assert "start_line=" in out.splitlines()[-1]
    next_line = int(out.rsplit("start_line=", 1)[1].split()[0])
    assert f"{next_line - 1}| line {next_line - 2} " in out


def test_read_file_binary(call, root: Path) -> None:
    (root / "blob.bin").write_bytes(b"\x00\x01\x02binary" * 10)
    assert "binary file (90 bytes)" in call("read_file", path="blob.bin")


def test_read_file_directory_missing_and_bad_range(call) -> None:
    with pytest.raises(ToolError, match="is a directory"):
        call("read_file", path="src")
    with pytest.raises(ToolError, match="no such file"):
        call("read_file", path="nope.py")
    with pytest.raises(ToolError, match="past the end"):
        call("read_file", path="src/app.py", start_line=50)
    with pytest.raises(ToolError, match="before start_line"):
        call("read_file", path="src/app.py", start_line=2, end_line=1)


def test_read_file_empty(call, root: Path) -> None:
    (root / "empty.txt").write_text("")
    assert call("read_file", path="empty.txt") == "empty.txt is empty (0 lines)"


def test_unknown_argument_is_rejected(call) -> None:
    with pytest.raises(ValueError, match="extra"):
        call("read_file", path="README.md", lines="1-3")


@pytest.mark.usefixtures("links")
@pytest.mark.parametrize("path", ESCAPES)
def test_read_file_refuses_escapes(call, path: str) -> None:
    with pytest.raises(PathEscapeError):
        call("read_file", path=path)


# -- write_file -----------------------------------------------------------------------------------------


def test_write_file_creates_parents_and_reports(call, root: Path) -> None:
    out = call("write_file", path="pkg/sub/mod.py", content="x = 1\ny = 2\n")
    assert out == "created pkg/sub/mod.py (12 bytes, 2 lines)"
    assert (root / "pkg/sub/mod.py").read_text() == "x = 1\ny = 2\n"
    assert (root / "pkg/sub/mod.py").stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert call("write_file", path="pkg/sub/mod.py", content="z\n").startswith("overwrote pkg/sub/mod.py")
    assert call("write_file", path="pkg/sub/mod.py", content="z\n").endswith("unchanged (same content)")


def test_write_file_keeps_mode_and_leaves_no_temp_files(call, root: Path) -> None:
    script = root / "run.sh"
    script.write_text("echo 1\n")
    script.chmod(0o755)
    call("write_file", path="run.sh", content="echo 2\n")
    assert script.stat().st_mode & 0o777 == 0o755
    assert not [p for p in root.iterdir() if p.name.endswith(".rudder-tmp")]


def test_write_file_refuses_directories_and_git_internals(call) -> None:
    with pytest.raises(ToolError, match="is a directory"):
        call("write_file", path="src", content="x")
    with pytest.raises(ToolError, match=r"\.git"):
        call("write_file", path=".git/hooks/pre-commit", content="rm -rf /")


@pytest.mark.usefixtures("links")
@pytest.mark.parametrize("path", [*ESCAPES, "link/new.txt"])
def test_write_file_refuses_escapes(call, outside: Path, path: str) -> None:
    with pytest.raises(PathEscapeError):
        call("write_file", path=path, content="pwned")
    assert (outside / "secret.txt").read_text() == "TOP SECRET\n"
    assert not (outside / "new.txt").exists()


# -- edit_file ------------------------------------------------------------------------------------------

SOURCE = """\
def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b
"""


@pytest.fixture
def calc(root: Path) -> Path:
    path = root / "calc.py"
    path.write_text(SOURCE)
    return path


def test_edit_file_replaces_unique_match(call, calc: Path) -> None:
    out = call("edit_file", path="calc.py", search="    return a - b\n", replace="    return b - a\n")
    assert calc.read_text() == SOURCE.replace("a - b", "b - a")
    assert out.splitlines()[0] == "edited calc.py; line 6 now read:"
    assert "6|     return b - a" in out.splitlines()


def test_edit_file_no_match_shows_nearest_candidate(call, calc: Path) -> None:
    with pytest.raises(ToolError) as info:
        call("edit_file", path="calc.py", search="def sub(a, b):\n    return a + b\n", replace="x")
    message = str(info.value)
    assert "not found exactly" in message
    assert "lines 5-6" in message and "5| def sub(a, b):" in message
    assert "first difference at line 6" in message
    assert calc.read_text() == SOURCE


def test_edit_file_nothing_similar(call, calc: Path) -> None:
    with pytest.raises(ToolError, match="nothing similar"):
        call("edit_file", path="calc.py", search="class Zebra(Protocol): pass", replace="x")


def test_edit_file_ambiguous_match_says_where(call, calc: Path) -> None:
    with pytest.raises(ToolError, match=r"matches 3 places \(lines 1, 5, 9\)"):
        call("edit_file", path="calc.py", search="(a, b):", replace="(x, y):")
    assert calc.read_text() == SOURCE


def test_edit_file_whitespace_insensitive_fallback_reindents(call, calc: Path) -> None:
    search, replace = "def mul(a, b):\nreturn a * b", "def mul(a, b):\nreturn b * a\nreturn 0"
    out = call("edit_file", path="calc.py", search=search, replace=replace)
    assert "matched ignoring whitespace at lines 9-10" in out
    assert calc.read_text().endswith("def mul(a, b):\n    return b * a\n    return 0\n")
    calc.write_text(SOURCE)
    call("edit_file", path="calc.py", search="  return a * b", replace="  return a * b * 1")
    assert calc.read_text().endswith("    return a * b * 1\n")


def test_edit_file_whitespace_fallback_must_be_unique(call, root: Path) -> None:
    (root / "dup.py").write_text("if x:\n    go()\nif y:\n    go()\n")
    with pytest.raises(ToolError, match="2 places when whitespace is ignored"):
        call("edit_file", path="dup.py", search="\tgo()", replace="\tstop()")


def test_edit_file_accepts_copied_line_numbers(call, calc: Path) -> None:
    out = call("edit_file", path="calc.py", search="2|     return a + b", replace="2|     return a + b + 0")
    assert "line-number prefixes removed" in out
    assert "    return a + b + 0\n" in calc.read_text()


def test_edit_file_keeps_crlf(call, root: Path) -> None:
    path = root / "win.txt"
    path.write_bytes(b"one\r\ntwo\r\nthree\r\n")
    call("edit_file", path="win.txt", search="two\nthree\n", replace="2\n3\n")
    assert path.read_bytes() == b"one\r\n2\r\n3\r\n"


def test_edit_file_refusals(call, root: Path) -> None:
    (root / "blob.bin").write_bytes(b"\x00abc")
    with pytest.raises(ToolError, match="binary"):
        call("edit_file", path="blob.bin", search="abc", replace="x")
    with pytest.raises(ToolError, match="does not exist"):
        call("edit_file", path="missing.py", search="a", replace="b")
    with pytest.raises(ToolError, match="search is empty"):
        call("edit_file", path="README.md", search="  ", replace="b")


@pytest.mark.usefixtures("links")
@pytest.mark.parametrize("path", ESCAPES)
def test_edit_file_refuses_escapes(call, outside: Path, path: str) -> None:
    with pytest.raises(PathEscapeError):
        call("edit_file", path=path, search="TOP SECRET", replace="pwned")
    assert (outside / "secret.txt").read_text() == "TOP SECRET\n"


# -- list_files -----------------------------------------------------------------------------------------


def test_list_files_respects_gitignore_and_includes_untracked(call, root: Path) -> None:
    (root / "debug.log").write_text("noise")
    (root / "build").mkdir()
    (root / "build" / "out.py").write_text("x")
    (root / "src" / "new.py").write_text("y")
    out = call("list_files")
    assert out.splitlines() == ["4 files:", ".gitignore", "README.md", "src/app.py", "src/new.py"]


def test_list_files_pattern_and_path(call, root: Path) -> None:
    (root / "src" / "deep").mkdir()
    (root / "src" / "deep" / "x.py").write_text("")
    assert call("list_files", pattern="*.py").splitlines()[1:] == ["src/app.py", "src/deep/x.py"]
    assert call("list_files", pattern="*.py", path="src/deep").splitlines()[1:] == ["src/deep/x.py"]
    assert call("list_files", pattern="deep/*.py", path="src").splitlines()[1:] == ["src/deep/x.py"]
    assert call("list_files", pattern="*.rs") == "no files match '*.rs' under ."


def test_list_files_without_git_uses_gitignore(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    (plain / "pkg" / "cache").mkdir(parents=True)
    (plain / ".gitignore").write_text("*.tmp\n")
    (plain / "pkg" / ".gitignore").write_text("cache/\n")
    for name in ("a.py", "b.tmp", "pkg/c.py", "pkg/d.tmp", "pkg/cache/e.py"):
        (plain / name).write_text("")
    from rudder.tools.files import ListFilesArgs, list_files

    out = list_files(Workspace(plain), ListFilesArgs())
    assert out.splitlines()[1:] == [".gitignore", "a.py", "pkg/.gitignore", "pkg/c.py"]


def test_list_files_caps_output(call, root: Path) -> None:
    (root / "many").mkdir()
    for i in range(250):
        (root / "many" / f"f{i:03}.txt").write_text("")
    out = call("list_files", path="many")
    assert out.startswith("250 files:")
    assert "[50 more not shown" in out
    assert len(out.splitlines()) == 202


@pytest.mark.usefixtures("links")
@pytest.mark.parametrize("path", ["..", "../outside", "/tmp", "link"])
def test_list_files_refuses_escapes(call, path: str) -> None:
    with pytest.raises(PathEscapeError):
        call("list_files", path=path)


def test_list_files_on_a_file(call) -> None:
    with pytest.raises(ToolError, match="is a file"):
        call("list_files", path="README.md")


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def test_list_files_globs_follow_gitignore_rules(call, root: Path) -> None:
    (root / "src" / "deep").mkdir(parents=True, exist_ok=True)
    (root / "src" / "deep" / "x.py").write_text("x\n")
    (root / "src" / "b.py").write_text("b\n")
    assert call("list_files", pattern="deep").splitlines()[1:] == ["src/deep/x.py"]  # a directory's name: its files
    assert call("list_files", pattern="src/[ab]*.py").splitlines()[1:] == ["src/app.py", "src/b.py"]
    assert call("list_files", pattern="/*.md").splitlines()[1:] == ["README.md"]  # a leading / anchors at the start
    assert call("list_files", pattern="src/**/x.py").splitlines()[1:] == ["src/deep/x.py"]
    with pytest.raises(ToolError, match="cannot start with '!'"):
        call("list_files", pattern="!*.py")
