"""The repo map: ranking, focus, budget, cache, determinism."""

from __future__ import annotations

import os
from pathlib import Path

import git
import pytest

from rudder.agent.repomap import build_repo_map, suffix
from rudder.tools import tags


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    git.Repo.init(root)
    (root / "core.py").write_text("def load_config():\n    return {}\n\ndef parse(text):\n    return text\n")
    (root / "lonely.py").write_text("def unused_helper():\n    return 0\n")
    for name in ("api", "cli", "jobs"):
        (root / f"{name}.py").write_text(f"from core import load_config\n\ndef {name}_main():\n    load_config()\n")
    (root / "notes.txt").write_text("not code\n")
    return root


def order(text: str) -> list[str]:
    return [line[:-1] for line in text.splitlines() if not line.startswith(" ")]


def test_referenced_files_rank_above_unreferenced_ones(project: Path) -> None:
    files = order(build_repo_map(project, budget_tokens=1000))
    assert files[0] == "core.py"
    assert files.index("core.py") < files.index("lonely.py")
    assert "notes.txt" not in files


def test_focus_changes_the_ranking(project: Path) -> None:
    assert order(build_repo_map(project, budget_tokens=1000, focus_files=["lonely.py"]))[0] == "lonely.py"
    assert order(build_repo_map(project, budget_tokens=1000, focus_names=["unused_helper"]))[0] == "lonely.py"


def test_the_map_fits_the_budget(project: Path) -> None:
    def count(text: str) -> int:
        return len(text.split())

    full = build_repo_map(project, budget_tokens=10_000, count_tokens=count)
    small = build_repo_map(project, budget_tokens=12, count_tokens=count)
    assert count(small) <= 12 < count(full)
    assert small.startswith("core.py:")


def test_cache_avoids_reparsing_and_output_is_deterministic(project: Path) -> None:
    first = build_repo_map(project, budget_tokens=1000)
    before = tags.PARSE_COUNT[0]
    second = build_repo_map(project, budget_tokens=1000)
    assert tags.PARSE_COUNT[0] == before and first == second
    (project / "lonely.py").write_text("def renamed_helper():\n    return 0\n")
    third = build_repo_map(project, budget_tokens=1000)
    assert tags.PARSE_COUNT[0] == before + 1 and "renamed_helper" in third


def commit_all(root: Path, message: str = "x") -> None:
    repo = git.Repo(root)
    repo.git.add(A=True)
    repo.git.commit(m=message, author="t <t@t>")


def test_every_tracked_file_is_ranked_not_the_first_paths_by_name(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    git.Repo.init(root)
    for i in range(2100):  # more than the 2,000 the map used to take, in path order
        (root / f"a{i:04d}.py").write_text(f"def helper_{i}():\n    return important()\n")
    (root / "zz_core.py").write_text("def important():\n    return 1\n")
    commit_all(root)
    text = build_repo_map(root, budget_tokens=40, parse_seconds=60)
    assert order(text)[0] == "zz_core.py"


def test_recent_changes_rank_above_old_files(project: Path) -> None:
    commit_all(project, "all")
    (project / "lonely.py").write_text("def unused_helper():\n    return 1\n")
    commit_all(project, "lonely changed")
    ranked = order(build_repo_map(project, budget_tokens=1000))
    assert ranked.index("lonely.py") < ranked.index("api.py")  # equally unreferenced, but newer


def test_tags_are_kept_between_runs_by_content(project: Path) -> None:
    commit_all(project)
    first = build_repo_map(project, budget_tokens=1000)
    tags._CACHE.clear()  # a new process: nothing cached in memory
    before = tags.PARSE_COUNT[0]
    assert build_repo_map(project, budget_tokens=1000) == first
    assert tags.PARSE_COUNT[0] == before  # every file came from the tag store


def test_a_cold_map_parses_within_its_time_and_the_next_run_goes_on(project: Path) -> None:
    commit_all(project)
    tags._CACHE.clear()
    from rudder.tools.tags_store import TagStore

    store = TagStore(project.parent / "store.sqlite")
    assert build_repo_map(project, budget_tokens=1000, store=store, parse_seconds=0) == ""
    named = build_repo_map(project, budget_tokens=1000, store=store, parse_seconds=0, focus_files=["lonely.py"])
    assert order(named) == ["lonely.py"]  # what the task names is always read
    full = build_repo_map(project, budget_tokens=1000, store=store, parse_seconds=60)
    assert set(order(full)) == {"core.py", "lonely.py", "api.py", "cli.py", "jobs.py"}


@pytest.mark.parametrize(
    "path", ["a/b.py", "a/.py", "x.tar.gz", "a.b/c", ".bashrc", "a/..py", "noext", "d/f.", "t.test.ts"]
)
def test_the_fast_suffix_agrees_with_splitext(path: str) -> None:
    assert suffix(path) == os.path.splitext(path)[1]
