"""A mode cannot make the agent undo its own correct work (issue 22: fast-draft turned a correct
`PORT = 8080` into `PORT = 8080, change to 8080`). The scripted model plays what the embedded one did;
the harness must ask again with the mode set aside, and keep the mode's hands off neutral runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rudder.agent.aids.second_opinion import degenerate_thought
from rudder.agent.config import AgentConfig
from rudder.agent.records import Trajectory, read_trajectory
from rudder.agent.session import Session
from rudder.modes.active import ActiveMode
from rudder.modes.registry import get_mode
from rudder.tools.base import Workspace
from tests.agent.scripted import ScriptedEngine
from tests.agent.test_session import RecordingSteerer, any_vector
from tests.helpers import make_repo

TASK = "in config.py, change PORT from 80 to 8080"
FAST_DRAFT_ADDENDUM = "Work fast"


def call(tool: str, thought: str, **args: object) -> str:
    return json.dumps({"thought": thought, "tool": tool, **args})


GOOD_EDIT = call(
    "edit_file", "To change PORT, I use edit_file.", path="config.py", search="PORT = 80", replace="PORT = 8080"
)
RE_EDIT = call(
    "edit_file",
    "To change PORT, I use edit_file.",
    path="config.py",
    search="PORT = 8080",
    replace="PORT = 8080, change",
)
FINISH = call("finish", "Done: PORT is changed.", answer="PORT is 8080")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo", {"config.py": 'PORT = 80\nHOST = "localhost"\n'})
    return tmp_path / "repo"


def run(
    repo: Path, mode: str, replies: list[str], events: list[object] | None = None
) -> tuple[Session, ScriptedEngine, RecordingSteerer]:
    engine, steerer = ScriptedEngine(replies), RecordingSteerer()
    s = Session(
        engine,
        Workspace(repo),
        ActiveMode(get_mode(mode), any_vector),
        config=AgentConfig(max_steps=6, approval="auto"),
        steerer=steerer,
        trajectory=Trajectory(repo / ".git" / "run.jsonl"),
        listener=events.append if events is not None else None,
    )
    s.run(TASK)
    return s, engine, steerer


def test_a_steered_re_edit_of_fresh_work_is_decided_by_the_model_with_the_mode_set_aside(repo: Path) -> None:
    s, engine, steerer = run(repo, "fast-draft", [GOOD_EDIT, RE_EDIT, FINISH])
    assert s.summary.status == "finished"
    assert (repo / "config.py").read_text() == 'PORT = 8080\nHOST = "localhost"\n'  # the correct edit stands
    checked = s.history[1]
    assert checked.tool == "finish" and "re-edited what step 0 had just changed" in (checked.second_opinion or "")
    assert "PORT = 8080, change" in (checked.second_opinion or "")  # the mode's own call is kept for the record
    # the second query: no steering in either phase, and no fast-draft addendum anywhere in the prompt
    assert FAST_DRAFT_ADDENDUM in engine.prompts[1] and FAST_DRAFT_ADDENDUM not in engine.prompts[2]
    assert checked.steering["thought"] and checked.steering["thought (switched)"] == []
    assert steerer.applied[-2:] == ["unsteered", "clear"]
    assert getattr(engine, "resets", 0) == 2  # run() resets once; the second query reads the prompt afresh
    assert s.policy.name == "fast-draft"  # the mode is back for the next step
    steps = [r for r in read_trajectory(repo / ".git" / "run.jsonl") if r["type"] == "step"]
    assert steps[1]["second_opinion"] and steps[0]["second_opinion"] is None


def test_neutral_is_never_second_guessed(repo: Path) -> None:
    s, engine, _ = run(repo, "neutral", [GOOD_EDIT, RE_EDIT, FINISH])
    assert len(engine.prompts) == 3 and all(r.second_opinion is None for r in s.history)
    assert (repo / "config.py").read_text().startswith("PORT = 8080, change")  # neutral's own choice stands


def test_a_looping_steered_thought_is_cut_before_the_call_can_copy_it(repo: Path) -> None:
    loop = "To change PORT to 80, to 8080, to 808080, to 80808080, to 8080808080808080, to 8080808080808080, to"
    junk = call("edit_file", loop, path="config.py", search="PORT", replace="PORT8080808080808080")
    s, engine, _ = run(repo, "fast-draft", [junk, GOOD_EDIT, FINISH])
    assert (repo / "config.py").read_text() == 'PORT = 8080\nHOST = "localhost"\n'
    first = s.history[0]
    assert "looped" in (first.second_opinion or "") and first.tool == "edit_file"
    assert '"tool"' not in first.second_opinion.split("the mode's call: ", 1)[1]  # cut inside the thought
    assert len(engine.prompts) == 3 and s.summary.status == "finished"


def test_readers_are_told_when_the_modes_streamed_reply_is_set_aside(repo: Path) -> None:
    loop = "To change PORT to 80, to 8080, to 808080, to 80808080, to 8080808080808080, to 8080808080808080, to"
    junk = call("edit_file", loop, path="config.py", search="PORT", replace="PORT8080808080808080")
    events: list[object] = []
    run(repo, "fast-draft", [junk, GOOD_EDIT, FINISH], events)
    kinds = [type(e).__name__ for e in events if type(e).__name__ in ("Token", "StepRetried", "ToolCallStarted")]
    retried = kinds.index("StepRetried")
    # the loop streamed first, then the notice, then the second reply's tokens, then its call runs
    assert "Token" in kinds[:retried] and kinds[retried + 1] == "Token" and "ToolCallStarted" in kinds[retried:]
    (event,) = [e for e in events if type(e).__name__ == "StepRetried"]
    assert event.step == 0 and event.mode == "fast-draft" and "looped" in event.reason


def test_neutral_runs_emit_no_retries(repo: Path) -> None:
    events: list[object] = []
    run(repo, "neutral", [GOOD_EDIT, RE_EDIT, FINISH], events)
    assert not [e for e in events if type(e).__name__ == "StepRetried"]


def test_ordinary_thoughts_are_not_loops() -> None:
    for thought in (
        "To change PORT from 80 to 8080, I use edit_file.",
        "To fix the failing test in test_calc.py, I change the divide function in calc.py so it raises ValueError.",
        "To add a function that returns the sum of a list of numbers, I write it in utils.py with a docstring.",
    ):
        assert degenerate_thought(thought) is None, thought
    assert degenerate_thought("To make it to make it to make it to make it to make it") is not None


def test_a_steered_call_that_runs_on_to_the_token_limit_is_asked_again(repo: Path) -> None:
    counting = '{"thought": "To change PORT.", "tool": "edit_file", "path": "config.py", "search": "PORT = 80", '
    counting += '"replace": "PORT = 8080; ' + "; ".join(str(n) for n in range(1, 40))  # cut: no closing quote
    s, _, _ = run(repo, "fast-draft", [counting, GOOD_EDIT, FINISH])
    assert (repo / "config.py").read_text() == 'PORT = 8080\nHOST = "localhost"\n'
    assert "not valid" in (s.history[0].second_opinion or "") and s.history[0].ok
    assert s.summary.status == "finished" and s.summary.protocol_errors == 0
