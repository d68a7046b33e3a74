"""Harness discipline with a scripted model, real tools and git: unread overwrites refused, no-op writes
without checkpoints, named files attached, loops ending `stuck`, runaway strings cut, tests before finish."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rudder.agent import discipline
from rudder.agent.aids import examples
from rudder.agent.config import AgentConfig
from rudder.agent.records import Trajectory, read_trajectory
from rudder.agent.session import Session
from rudder.modes.active import ActiveMode
from rudder.modes.registry import get_mode
from rudder.tools.base import Workspace
from tests.agent.scripted import ScriptedEngine
from tests.agent.test_session import RecordingSteerer, any_vector
from tests.helpers import make_repo

HELLO = 'print("hello wrold")\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo", {"hello.py": HELLO, "notes.txt": "keep me\n"})
    return tmp_path / "repo"


def call(tool: str, **args: object) -> str:
    return json.dumps({"thought": f"use {tool}", "tool": tool, **args})


def session(repo: Path, replies: list[str], mode: str = "neutral", **config: object) -> tuple[Session, ScriptedEngine]:
    engine = ScriptedEngine(replies)
    s = Session(
        engine,
        Workspace(repo),
        ActiveMode(get_mode(mode), any_vector),
        config=AgentConfig(**config),
        steerer=RecordingSteerer(),
        trajectory=Trajectory(repo / ".git" / "run.jsonl"),
    )
    return s, engine


def test_overwriting_an_unread_file_is_refused_until_it_is_read(repo: Path) -> None:
    s, _ = session(
        repo,
        [
            call("write_file", path="hello.py", content="x = 1\n"),
            call("read_file", path="hello.py"),
            call("write_file", path="hello.py", content="x = 2\n"),
            call("finish", answer="done"),
        ],
    )
    summary = s.run("rewrite the script")  # names no file, so nothing is attached
    refused = s.history[0]
    assert (refused.ok, refused.error_kind, refused.checkpoint) == (False, "refused", None)
    assert "read_file" in refused.observation and "edit_file" in refused.observation
    assert summary.status == "finished" and (repo / "hello.py").read_text() == "x = 2\n"
    assert s.history[2].ok and s.history[2].checkpoint is not None


def test_new_files_and_files_the_agent_wrote_are_not_refused(repo: Path) -> None:
    s, _ = session(
        repo,
        [
            call("write_file", path="new.txt", content="a\n"),
            call("write_file", path="new.txt", content="b\n"),
            call("finish", answer="done"),
        ],
    )
    assert s.run("make new.txt").status == "finished"
    assert (repo / "new.txt").read_text() == "b\n" and all(r.ok for r in s.history)


def test_files_named_in_the_task_are_attached_but_overwriting_still_needs_a_read(repo: Path) -> None:
    s, engine = session(
        repo,
        [
            call("write_file", path="hello.py", content='print("hello world")\n'),
            call("edit_file", path="hello.py", search="wrold", replace="world"),
            call("finish", answer="ok"),
        ],
    )
    assert s.run("fix the typo in hello.py (see also missing.py)").status == "finished"
    first_prompt = engine.prompts[0]
    assert "Contents of hello.py (1 lines):\n1| " + HELLO.strip() in first_prompt
    assert "missing.py" not in first_prompt.split("Contents of")[-1]  # named but absent: nothing attached
    assert s.history[0].error_kind == "refused" and s.history[1].ok  # edit_file works on the shown content
    assert (repo / "hello.py").read_text() == 'print("hello world")\n'


def test_attachments_respect_the_token_budget(repo: Path) -> None:
    ws = Workspace(repo)
    text, attached = discipline.attach_named_files("look at hello.py and notes.txt", ws, lambda t: 50, budget=60)
    assert [p.name for p in attached] == ["hello.py"] and "Too long to show here (use read_file): notes.txt" in text


def test_a_write_that_changes_nothing_makes_no_checkpoint(repo: Path) -> None:
    s, _ = session(
        repo,
        [
            call("read_file", path="notes.txt"),
            call("write_file", path="notes.txt", content="keep me\n"),
            call("finish", answer="x"),
        ],
    )
    s.run("tidy the notes")
    noop = s.history[1]
    assert noop.ok and noop.checkpoint is None and "nothing changed" in noop.observation
    assert s.checkpoints is not None and s.checkpoints.list() == []


def test_the_same_call_three_times_ends_the_run_stuck(repo: Path) -> None:
    s, engine = session(repo, [call("git_diff")] * 5)
    summary = s.run("review the change")
    assert (summary.status, summary.steps) == ("stuck", 3)
    second = s.history[1]
    assert second.repeated == 2 and "did not help" in engine.prompts[2]
    # changing course appends: the example stays (marked superseded), so the cached prompt is extended
    assert engine.prompts[2].startswith(engine.prompts[1]) and discipline.EXAMPLE_SUPERSEDED in engine.prompts[2]
    assert s.history[2].temperature is not None  # the step after the repeat sampled warmer
    assert examples.PREFIX in engine.prompts[0] and "did not help" in engine.prompts[2]
    end = [r for r in read_trajectory(repo / ".git" / "run.jsonl") if r["type"] == "end"][-1]
    assert end["status"] == "stuck"


def test_the_same_error_three_times_ends_the_run_stuck(repo: Path) -> None:
    s, _ = session(repo, ["not json at all"] * 3 + [call("finish", answer="x")])
    summary = s.run("do it")
    assert summary.status == "stuck" and summary.protocol_errors == 3


def test_rerunning_a_call_after_a_change_is_not_a_loop(repo: Path) -> None:
    s, _ = session(
        repo,
        [
            call("git_diff"),
            call("read_file", path="hello.py"),
            call("edit_file", path="hello.py", search="wrold", replace="world"),
            call("git_diff"),
            call("finish", answer="fixed"),
        ],
    )
    assert s.run("fix it").status == "finished" and all(r.repeated == 0 for r in s.history)


def test_the_same_changing_call_three_times_in_a_row_is_a_loop(repo: Path) -> None:
    # each append changes the file, so "repo unchanged" never holds: three in a row is still a loop
    append = call("run_shell", command="echo more >> hello.py")
    s, _ = session(repo, [append] * 4 + [call("finish", answer="x")])
    summary = s.run("add a line")
    assert (summary.status, summary.steps) == ("stuck", 3) and s.history[1].repeated == 2


def test_an_edit_undone_and_redone_is_a_loop(repo: Path) -> None:
    # A -> B, B -> A, A -> B: every call changes the repo, none comes twice in a row
    there = call("edit_file", path="hello.py", search="wrold", replace="world")
    back = call("edit_file", path="hello.py", search="world", replace="wrold")
    s, _ = session(
        repo, [call("read_file", path="hello.py"), there, back, there, back, there, call("finish", answer="x")]
    )
    summary = s.run("fix it")
    assert summary.status == "stuck" and summary.steps == 6 and s.history[3].repeated == 2


def test_a_runaway_string_is_cut_and_the_model_told(repo: Path) -> None:
    runaway = '{"thought": "write", "tool": "write_file", "path": "poem.txt", "content": "' + "la la " * 300 + '"}'
    replies = [runaway, call("write_file", path="poem.txt", content="la\n"), call("finish", answer="x")]
    s, engine = session(repo, replies)
    summary = s.run("write a poem")
    cut = s.history[0]
    assert cut.error_kind == "runaway" and "kept repeating" in cut.observation and "edit_file" in cut.observation
    assert cut.generated_tokens < 60  # stopped within a few repeats, not at 600 words
    assert not (repo / "poem.txt").read_text().startswith("la la la")
    assert summary.status == "finished" and "kept repeating" in engine.prompts[1]


def test_runaway_detector() -> None:
    assert discipline.runaway('{"content": "' + "abc, " * 30) in ("abc, ", " abc,", ", abc", "c, ab", "bc, a")
    assert discipline.runaway('{"content": "the quick brown fox jumps over the lazy dog') is None
    assert discipline.runaway("x" * 20) is None  # too short to call it
    near = '{"content": "' + ", ".join(f"max_retries = {10 * i}" for i in range(20))
    assert discipline.runaway(near) is not None  # near-repeats: numbers change, the text does not
    code = Path(discipline.__file__).read_text()
    assert all(discipline.runaway(code[: i + 300]) is None for i in range(0, len(code) - 300, 97))


def test_careful_mode_runs_failing_tests_before_finish_and_reports(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    make_repo(
        root,
        {
            "mathutil.py": "def add(a, b):\n    return a - b\n",
            "test_mathutil.py": "from mathutil import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
        },
    )
    s, _ = session(
        root,
        [
            call("write_file", path="notes.md", content="tried\n"),
            call("finish", answer="done"),
            call("edit_file", path="mathutil.py", search="a - b", replace="a + b"),
            call("finish", answer="fixed add"),
        ],
        mode="careful-review",
        max_steps=8,
    )
    summary = s.run("make the tests pass")
    bounced = s.history[1]
    assert (bounced.tool, bounced.ok, bounced.tests) == ("finish", False, "failed")
    assert "tests fail" in bounced.observation.lower()
    assert summary.status == "finished" and summary.answer.startswith("fixed add")
    assert "tests passed" in summary.answer  # the report, for the user


def test_neutral_mode_does_not_run_tests_before_finish(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    make_repo(root, {"m.py": "x = 1\n", "test_m.py": "def test_x():\n    assert False\n"})
    s, _ = session(root, [call("write_file", path="n.txt", content="a\n"), call("finish", answer="ok")])
    summary = s.run("note it")
    assert summary.status == "finished" and summary.answer == "ok"
