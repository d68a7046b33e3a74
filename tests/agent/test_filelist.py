"""The call constraints' file list: listed again only when git's index changes, else updated in place."""

from __future__ import annotations

import os
from pathlib import Path

import git

from rudder.agent.filelist import FileList
from rudder.tools.base import Workspace


def make_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    repo = git.Repo.init(root)
    (root / "a.py").write_text("x = 1\n")
    (root / "b.txt").write_text("b\n")
    repo.git.add(A=True)
    repo.git.commit(m="init", author="t <t@t>")
    return root


def test_an_unchanged_index_is_not_listed_again(tmp_path: Path) -> None:
    listing = FileList(Workspace(make_repo(tmp_path)))
    assert listing.files() == ["a.py", "b.txt"]
    assert listing.files() == ["a.py", "b.txt"]
    assert listing.listings == 1


def test_a_steps_changes_are_applied_in_place(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    listing = FileList(Workspace(root))
    listing.files()
    (root / "new dir").mkdir()
    (root / "new dir" / 'q"uote.py').write_text("")
    (root / "b.txt").unlink()
    listing.changed(['new dir/q"uote.py', "b.txt", "a.py"])
    assert listing.files() == ["a.py", 'new dir/q\\"uote.py']  # sorted and JSON-escaped, as the model writes it
    assert listing.listings == 1


def test_an_index_change_lists_again(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    listing = FileList(Workspace(root))
    listing.files()
    (root / "c.py").write_text("")
    git.Repo(root).git.add("c.py")
    assert "c.py" in listing.files() and listing.listings == 2
    listing.invalidate()
    listing.files()
    assert listing.listings == 3


def test_a_sessions_write_steps_update_its_list_without_listing_again(tmp_path: Path) -> None:
    from tests.agent.test_session import call, session

    root = make_repo(tmp_path)
    for path in (root / "a.py", root / "b.txt"):  # not "racily clean": git status will not rewrite the index
        os.utime(path, (1_000_000_000, 1_000_000_000))
    git.Repo(root).git.status()
    replies = [
        call("write_file", path="new.py", content="y = 2\n"),
        call("write_file", path="other.py", content="z = 3\n"),
        call("finish", answer="done"),
    ]
    s, _ = session(root, replies)
    s.file_list.files()  # as the first call's constraints would
    s.run("write two files")
    assert {"new.py", "other.py"} <= set(s.file_list.files())
    assert s.file_list.listings == 1
