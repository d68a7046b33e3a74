"""The Session contract front ends build on: typed events, follow-up turns, interrupts, the run manifest.

The scripted model checks the loop exactly; the real model checks what only it can show (the KV cache
and the real Steerer under a mid-generation switch, an interrupt's latency).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from rudder.agent.config import AgentConfig
from rudder.agent.events import (
    Event,
    ModeSwitched,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    Token,
    ToolCallFinished,
    ToolCallStarted,
)
from rudder.agent.records import Trajectory, read_trajectory
from rudder.agent.session import Session
from rudder.modes.active import ActiveMode
from rudder.modes.registry import get_mode, parse_mode
from rudder.tools.base import Workspace
from rudder.vectors.files.library import VectorResolver
from tests.agent.scripted import ScriptedEngine
from tests.agent.test_session import RecordingSteerer, any_vector, call
from tests.helpers import make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo", {"hello.py": 'print("hello wrold")\n'})
    return tmp_path / "repo"


def scripted(repo: Path, replies: list[str]) -> tuple[Session, ScriptedEngine, list[Event]]:
    engine = ScriptedEngine(replies)
    events: list[Event] = []
    session = Session(
        engine,
        Workspace(repo),
        ActiveMode(get_mode("neutral"), any_vector),
        steerer=RecordingSteerer(),
        trajectory=Trajectory(repo / ".git" / "run.jsonl"),
        listener=events.append,
    )
    return session, engine, events


def test_events_tell_the_whole_run_in_order_with_the_diff_of_an_edit(repo: Path) -> None:
    session, _, events = scripted(
        repo, [call("edit_file", path="hello.py", search="wrold", replace="world"), call("finish", answer="done")]
    )
    session.run("fix the typo")
    kinds = [type(e).__name__ for e in events if not isinstance(e, Token)]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished"
    assert kinds.index("ToolCallStarted") < kinds.index("ToolCallFinished") < kinds.index("StepFinished")
    assert kinds.count("StepStarted") == kinds.count("StepFinished") == 2
    started = next(e for e in events if isinstance(e, ToolCallStarted))
    assert started.tool == "edit_file" and started.arguments["path"] == "hello.py" and started.access == "write"
    finished = next(e for e in events if isinstance(e, ToolCallFinished))
    assert finished.ok and finished.diff is not None
    assert '-print("hello wrold")' in finished.diff and '+print("hello world")' in finished.diff
    assert finished.checkpoint  # undoable
    assert "".join(e.text for e in events if isinstance(e, Token) and e.step == 0).startswith('{"tool"')
    end = events[-1]
    assert isinstance(end, RunFinished) and end.summary.status == "finished" and end.summary.answer == "done"


def test_a_follow_up_continues_the_same_conversation(repo: Path) -> None:
    session, engine, events = scripted(
        repo,
        [
            call("write_file", path="a.txt", content="one"),
            call("finish", answer="wrote a.txt"),
            call("read_file", path="a.txt"),
            call("finish", answer="it says one"),
        ],
    )
    assert session.run("write a.txt").status == "finished"
    summary = session.send("what does a.txt say?")
    assert (summary.status, summary.answer, summary.steps) == ("finished", "it says one", 2)
    follow_up_prompt = engine.prompts[2]
    assert "write a.txt" in follow_up_prompt and "what does a.txt say?" in follow_up_prompt
    assert follow_up_prompt.count('"answer": "wrote a.txt"') == 1  # the first turn's finish is in the history
    assert [e.turn for e in events if isinstance(e, RunStarted)] == [1, 2]
    assert [r.turn for r in session.history] == [1, 1, 2, 2]
    assert [e.index for e in events if isinstance(e, StepStarted)] == [0, 1, 2, 3]


def test_every_turn_writes_a_manifest_that_identifies_the_run(repo: Path) -> None:
    session, _, _ = scripted(repo, [call("finish", answer="x")])
    session.run("nothing to do")
    run = next(r for r in read_trajectory(repo / ".git" / "run.jsonl") if r["type"] == "run")
    manifest = run["manifest"]
    assert manifest["rudder_version"] and manifest["mode"] == "neutral"
    assert manifest["mode_file"]["path"].endswith("neutral.toml") and len(manifest["mode_file"]["sha256"]) == 64
    assert len(manifest["repo"]["head"]) == 40 and manifest["repo"]["dirty"] is False
    assert manifest["sampling"]["temperature"] == 0.0 and manifest["seed"] == 0
    assert json.dumps(manifest)  # plain JSON all the way down


def test_an_empty_task_is_refused(repo: Path) -> None:
    session, _, _ = scripted(repo, [])
    with pytest.raises(ValueError, match="empty"):
        session.run("   \n")


# -- the real model -------------------------------------------------------------------------------


STEER_THE_CALL = """
name = "steer-the-call"
steer_tool_calls = true
[[vectors]]
vector = "terse"
scale = 0.05
layers = "10-15"
"""


@pytest.mark.slow
def test_a_mode_switched_mid_generation_keeps_the_kv_cache(engine, repo: Path) -> None:
    """Switching to a steering mode 'now' must not disturb the running generation: the first non-empty
    plan once ran site discovery, which evaluated a probe prompt and replaced the KV cache under it."""
    engine.reset()
    resolver = VectorResolver(engine.info.identity, repo)
    steered = ActiveMode(parse_mode(STEER_THE_CALL, Path("steer.toml")), resolver)
    events: list[Event] = []
    session = Session(
        engine,
        Workspace(repo),
        ActiveMode(get_mode("neutral"), resolver),
        config=AgentConfig(max_steps=2),
        listener=events.append,
    )

    def switch_on_third_token(event: Event) -> None:
        events.append(event)
        if isinstance(event, Token) and sum(isinstance(e, Token) for e in events) == 3:
            session.switch_policy(steered, now=True)

    session.listener = switch_on_third_token
    session.run("list the files in this repository")
    first, second = session.history[0], session.history[1]
    assert any(isinstance(e, ModeSwitched) and e.now for e in events)
    assert first.steering.get("tool_call (switched)", [{}])[0].get("vector") == "terse"
    # the second step reuses the first step's cache: only the new tokens are evaluated
    assert second.prompt_tokens_evaluated < second.prompt_tokens // 2, second
    engine.reset()


@pytest.mark.slow
def test_an_interrupt_stops_real_generation_within_one_token(engine, repo: Path) -> None:
    engine.reset()
    resolver = VectorResolver(engine.info.identity, repo)
    session = Session(engine, Workspace(repo), ActiveMode(get_mode("neutral"), resolver), config=AgentConfig())
    session.sampling = session.sampling.model_copy(update={"max_tokens": 400})
    tokens: list[float] = []
    interrupted_at: list[float] = []

    def listen(event: Event) -> None:
        if isinstance(event, Token):
            tokens.append(time.perf_counter())
            if len(tokens) == 5:
                interrupted_at.append(time.perf_counter())
                session.interrupt()
        if isinstance(event, RunFinished):
            interrupted_at.append(time.perf_counter())

    session.listener = listen
    summary = session.run("write a long essay about rivers into essay.txt")
    assert summary.status == "stopped"
    assert len(tokens) <= 6
    assert interrupted_at[1] - interrupted_at[0] < 0.2
    assert isinstance(session.history[-1], type(session.history[0])) and not (repo / "essay.txt").exists()
    engine.reset()


def test_step_finished_carries_the_record(repo: Path) -> None:
    session, _, events = scripted(repo, [call("list_files"), call("finish", answer="x")])
    session.run("look")
    records = [e.record for e in events if isinstance(e, StepFinished)]
    assert [r.tool for r in records] == ["list_files", "finish"]
