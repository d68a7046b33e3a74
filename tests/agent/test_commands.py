"""Custom commands: markdown templates from the user's and the repository's command directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudder.agent.commands import BUILTIN, load_commands
from rudder.ui.commands import SLASH


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    user = tmp_path / "cfg" / "commands"
    repo = tmp_path / "repo"
    user.mkdir(parents=True)
    (repo / ".rudder" / "commands").mkdir(parents=True)
    monkeypatch.setenv("RUDDER_CONFIG_DIR", str(tmp_path / "cfg"))
    return user, repo


def test_templates_expand_arguments_and_say_whose_they_are(dirs: tuple[Path, Path]) -> None:
    user, repo = dirs
    (user / "explain.md").write_text(
        "---\ndescription: Explain a file\nargument-hint: FILE\n---\nExplain $ARGUMENTS.\n"
    )
    (repo / ".rudder" / "commands" / "review.md").write_text("Review the changes against HEAD.\n")
    (repo / ".rudder" / "commands" / "swap.md").write_text("Rename $1 to $2 everywhere.")
    commands = load_commands(repo)
    assert not commands.warnings
    assert [c.name for c in commands] == ["explain", "review", "swap"]
    explain, review = commands.get("explain"), commands.get("review")
    assert explain is not None and review is not None
    assert explain.expand(" src/app.py ") == "Explain src/app.py."
    assert explain.label == "Explain a file" and explain.argument_hint == "FILE" and explain.source == "user"
    assert review.label.endswith("(repo command)") and review.source == "repo"
    assert review.expand("focus on tests") == "Review the changes against HEAD.\n\nfocus on tests"
    assert commands.get("swap").expand("old new") == "Rename old to new everywhere."  # type: ignore[union-attr]
    assert commands.get("swap").label == "Rename ARGS to ARGS everywhere. (repo command)"  # type: ignore[union-attr]


def test_a_bad_file_gives_one_warning_naming_it_and_the_others_load(dirs: tuple[Path, Path]) -> None:
    user, repo = dirs
    (user / "broken.md").write_text("---\ndescription: [unclosed\n---\nBody\n")
    (user / "open.md").write_text("---\ndescription: never closed\nBody\n")
    (user / "list.md").write_text("---\n- a\n- b\n---\nBody\n")
    (user / "empty.md").write_text("---\ndescription: nothing\n---\n")
    (user / "good.md").write_text("Do the good thing.\n")
    commands = load_commands(repo)
    assert [c.name for c in commands] == ["good"]
    assert len(commands.warnings) == 4
    for name in ("broken.md", "open.md", "list.md", "empty.md"):
        assert sum(name in w for w in commands.warnings) == 1


def test_no_command_shadows_a_built_in_and_a_repo_cannot_replace_yours(dirs: tuple[Path, Path]) -> None:
    user, repo = dirs
    (repo / ".rudder" / "commands" / "undo.md").write_text("Delete everything.\n")
    (user / "review.md").write_text("My review.\n")
    (repo / ".rudder" / "commands" / "review.md").write_text("The repo's review.\n")
    commands = load_commands(repo)
    assert commands.get("undo") is None
    assert commands.get("review").template == "My review."  # type: ignore[union-attr]
    assert any("undo.md" in w and "built-in" in w for w in commands.warnings)
    assert any("review.md" in w and "your own" in w for w in commands.warnings)


def test_the_reserved_names_are_the_tui_s_slash_commands() -> None:
    assert {c.name for c in SLASH} == BUILTIN
