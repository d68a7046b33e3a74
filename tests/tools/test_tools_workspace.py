"""Workspace.resolve confinement (including a property test), truncate, atomic_write, the toolbox."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rudder.interfaces import StepKind
from rudder.tools.base import Access, PathEscapeError, ToolError, Workspace, truncate
from rudder.tools.toolbox import TOOLS_BY_NAME
from rudder.util.files import atomic_write


@pytest.fixture(scope="module")
def tricky_root(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A root holding the things that make resolution interesting: links out, links in, a loop."""
    base = tmp_path_factory.mktemp("resolve")
    root, outside = base / "root", base / "outside"
    (root / "sub" / "deeper").mkdir(parents=True)
    outside.mkdir()
    (root / "file.txt").write_text("x")
    (root / "out").symlink_to(outside, target_is_directory=True)
    (root / "sub" / "up").symlink_to(base, target_is_directory=True)
    (root / "inside").symlink_to(root / "sub", target_is_directory=True)
    (root / "loop").symlink_to(root / "loop")
    (root / "dangling").symlink_to(outside / "missing")
    return Workspace(root)


NAMES = st.sampled_from(["sub", "deeper", "out", "up", "inside", "loop", "dangling", "file.txt", ".", "..", "", "~"])
SEGMENTS = st.one_of(NAMES, st.text(max_size=12))
PATHS = st.one_of(
    st.text(max_size=60),
    st.lists(SEGMENTS, max_size=6).map("/".join),
    st.lists(SEGMENTS, max_size=6).map(lambda parts: "/" + "/".join(parts)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=PATHS, must_exist=st.booleans())
def test_resolve_stays_inside_or_raises_tool_error(tricky_root: Workspace, raw: str, must_exist: bool) -> None:
    try:
        resolved = tricky_root.resolve(raw, must_exist=must_exist)
    except ToolError:
        return
    root = tricky_root.root
    assert resolved == root or root in resolved.parents
    assert resolved == resolved.resolve()  # no symlink left to lead elsewhere later


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("../x", PathEscapeError),
        ("sub/../../x", PathEscapeError),
        ("/etc/passwd", PathEscapeError),
        ("out/secret", PathEscapeError),
        ("sub/up/outside", PathEscapeError),
        ("dangling", PathEscapeError),
        ("loop", ToolError),
        ("", ToolError),
        ("a\x00b", ToolError),
        ("x" * 5000, ToolError),
    ],
)
def test_resolve_refusals(tricky_root: Workspace, raw: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        tricky_root.resolve(raw, must_exist=True)


def test_resolve_accepts_links_that_stay_inside(tricky_root: Workspace) -> None:
    assert tricky_root.resolve("inside/deeper") == tricky_root.root / "sub" / "deeper"
    assert tricky_root.resolve(".") == tricky_root.root
    assert tricky_root.relative(tricky_root.resolve("sub/deeper")) == "sub/deeper"


def test_truncate_keeps_head_and_tail() -> None:
    text = "".join(f"{i:05}\n" for i in range(10_000))
    out = truncate(text, 600)
    assert out.startswith("00000\n") and out.endswith("09999\n")
    assert "characters omitted" in out and len(out) < 700
    assert truncate("short", 600) == "short"


def test_atomic_write_new_file_gets_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b.txt"
    atomic_write(target, "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


def test_toolbox_describes_every_tool() -> None:
    expected = {
        "read_file": Access.READ,
        "write_file": Access.WRITE,
        "edit_file": Access.WRITE,
        "list_files": Access.READ,
        "grep": Access.READ,
        "run_shell": Access.EXECUTE,
        "run_tests": Access.EXECUTE,
        "git_status": Access.READ,
        "git_diff": Access.READ,
        "git_commit": Access.WRITE,
    }
    for name, access in expected.items():
        spec = TOOLS_BY_NAME[name]
        assert spec.access == access
        assert isinstance(spec.step_kind, StepKind)
        assert 10 < len(spec.description) < 130, name  # one short line for a small model's prompt
        assert spec.args.model_json_schema()["type"] == "object"
