"""The TUI's plain parts, without the model: mentions, diffs, slash commands, rescaled modes, the CLI entry."""

from __future__ import annotations

import tomllib
from pathlib import Path

from typer.testing import CliRunner

from rudder.agent.events import Token, ToolCallStarted
from rudder.agent.records import StepRecord
from rudder.cli import app
from rudder.interfaces import Phase, StepKind
from rudder.modes.mode import Mode
from rudder.ui.commands import parse_slash
from rudder.ui.mentions import attach, current_mention, fuzzy, repo_files
from rudder.ui.pump import EventPump, TokenRun
from rudder.ui.replay import replay_items
from rudder.ui.sessions import list_sessions
from rudder.ui.widgets.diff_block import split_unified
from rudder.ui.widgets.step_block import describe_guard
from tests.helpers import make_repo


def test_mentions_find_files_fuzzily_and_attach_only_files_inside_the_repo(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    make_repo(repo, {"src/app.py": "print(1)\n", "src/apple.txt": "x\n", "README.md": "# r\n"})
    (repo / "notes.md").write_text("untracked\n")
    (tmp_path / "secret.txt").write_text("outside\n")
    files = repo_files(repo)
    assert files == ["README.md", "notes.md", "src/app.py", "src/apple.txt"]
    assert fuzzy("sapy", files)[0] == "src/app.py"
    assert fuzzy("zzz", files) == []
    assert current_mention("look at @src/ap", 15) == (8, "src/ap")
    assert current_mention("mail me@host", 12) is None
    message, attached = attach("fix @src/app.py and @../secret.txt and @missing.py", repo)
    assert attached == ["src/app.py"]
    assert "File src/app.py:\n```\nprint(1)\n```" in message and "outside" not in message


def test_a_unified_diff_splits_into_old_and_new_text_per_file() -> None:
    diff = (
        "--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n keep\n-old\n+new\n--- /dev/null\n+++ b/y.txt\n@@ -0,0 +1 @@\n+done\n"
    )
    assert split_unified(diff) == [("x.py", "keep\nold\n", "keep\nnew\n"), ("y.txt", "", "done\n")]


def test_slash_commands_parse_and_plain_text_is_not_one() -> None:
    assert parse_slash("/mode fast-draft now") == ("mode", ["fast-draft", "now"])
    assert parse_slash("/UNDO") == ("undo", [])
    assert parse_slash("fix /etc/hosts") is None and parse_slash("//comment") is None


def test_a_slider_rescales_a_vector_and_keeps_per_step_proportions() -> None:
    # per-step vectors only (careful-review had them until its vector calibrated to 0)
    mode = Mode.model_validate(
        tomllib.loads(
            'name = "per-step"\n'
            '[steps.test]\nvectors = [{ vector = "careful", scale = 0.04, layers = "10-15" }]\n'
            '[steps.review]\nvectors = [{ vector = "careful", scale = 0.04, layers = "10-15" }]\n'
        )
    )
    assert {name: spec.scale for name, spec in mode.base_entries().items()} == {"careful": 0.04}  # per-step only
    changed = mode.with_scales({"careful": 0.08})
    assert mode.vectors_for(StepKind.TEST)[0].scale == 0.04  # the original is untouched
    for kind in StepKind:
        before = {s.vector: s.scale for s in mode.vectors_for(kind)}
        after = {s.vector: s.scale for s in changed.vectors_for(kind)}
        assert after == {name: 2 * scale for name, scale in before.items()}
    assert any(mode.vectors_for(kind) for kind in StepKind)


def test_saved_sessions_are_listed_newest_first(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    make_repo(repo)
    base = repo / ".git" / "rudder" / "trajectories"
    base.mkdir(parents=True)
    (base / "a.jsonl").write_text('{"type": "run", "task": "first", "mode": "neutral"}\n{"type": "step"}\n')
    (base / "b.jsonl").write_text("not json\n")
    found = list_sessions(repo)
    assert [(s.task, s.steps, s.turns) for s in found] == [("first", 1, 1)]


def test_rudder_without_a_command_outside_a_repo_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--repo", str(tmp_path)])
    assert result.exit_code == 2 and "git" in result.output and "Traceback" not in result.output


def test_rudder_with_an_unknown_mode_names_the_modes(tmp_path: Path) -> None:
    make_repo(tmp_path / "r")
    result = CliRunner().invoke(app, ["--repo", str(tmp_path / "r"), "--mode", "nope"])
    assert result.exit_code == 2 and "fast-draft" in result.output


def test_the_pump_merges_runs_of_tokens_keeps_order_and_wakes_the_ui_once() -> None:
    woken: list[int] = []
    pump = EventPump(lambda: woken.append(1))
    events = [
        Token(0, "Hel", Phase.THOUGHT),
        Token(0, "lo", Phase.THOUGHT),
        Token(0, '{"tool"', Phase.TOOL_CALL),
        ToolCallStarted(0, "list_files", {}, "read"),
        Token(1, "a b c", Phase.THOUGHT),
        Token(1, "d", Phase.THOUGHT, erase=4),  # the guard rewound "b c" and one more char
        Token(1, "e", Phase.THOUGHT, erase=9),  # more than this batch holds: the rest is erased on screen
    ]
    for event in events:
        pump.put(event)
    assert woken == [1]  # one wake-up for the whole burst
    taken = pump.take()
    assert taken == [
        TokenRun(0, "Hello", Phase.THOUGHT, count=2),
        Token(0, '{"tool"', Phase.TOOL_CALL),
        events[3],
        TokenRun(1, "e", Phase.THOUGHT, erase=7, count=3),
    ]
    assert pump.take() == []
    pump.put(Token(2, "x", Phase.THOUGHT))
    assert woken == [1, 1]  # taken: the next event wakes the UI again


def test_a_saved_trajectory_replays_as_the_events_of_a_live_session() -> None:
    guard = {
        "kind": "loop",
        "at_token": 40,
        "detail": "a 3-token phrase repeated over 30 tokens",
        "factor_before": 1.0,
        "factor_after": 0.5,
        "rewound": 27,
        "action": "backed-off",
        "plan": [],
    }
    step = StepRecord(
        index=0,
        kind=StepKind.EDIT,
        mode="fast-draft",
        thought="I will **write** it.",
        tool="write_file",
        arguments={"path": "notes.txt", "content": "done"},
        observation="wrote notes.txt",
        diff="+done\n",
        steering={"thought": [{"vector": "terse", "scale": 0.06}], "tool_call": []},
        guard=[guard],
    )
    records = [
        {"type": "run", "turn": 1, "task": "create notes.txt"},
        {"type": "mode", "step": 0, "old": "neutral", "new": "fast-draft", "now": False},
        {"type": "step", "time": 1.0, **step.model_dump(mode="json")},
        {"type": "end", "turn": 1, "status": "finished", "answer": "Done.", "steps": 1, "tokens": 90},
        {"type": "step", "index": "not a number"},
    ]
    items = list(replay_items(records, lambda tool: "write"))
    kinds = [type(item).__name__ for item in items]
    assert kinds == [
        "UserTurn",
        "Note",
        "StepStarted",
        "SteeringChanged",
        "SteeringChanged",
        "Token",
        "SteeringChanged",
        "ToolCallStarted",
        "ToolCallFinished",
        "StepFinished",
        "RunFinished",
        "Note",
    ]
    assert items[5] == Token(0, "I will **write** it.", Phase.THOUGHT)
    assert items[6].guard == guard and items[7].access == "write" and items[8].diff == "+done\n"
    assert items[10].summary.answer == "Done." and items[11].kind == "error"
    line = describe_guard(guard).plain
    assert "loop" in line and "×1 → ×0.5" in line and "27 tokens rewound" in line
