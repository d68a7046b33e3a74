"""The repo map: ranking, focus, budget, cache, determinism."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from rudder.agent.repomap import build_repo_map
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
