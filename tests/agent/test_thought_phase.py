"""The steerable thought phase: every act step opens with free text the mode steers; the tool-call JSON
after it is steered or not per steer_tool_calls; the trajectory records both phases' steering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rudder.agent.config import AgentConfig
from rudder.agent.events import Event, SteeringChanged, Token
from rudder.agent.protocols.json_calls import JsonProtocol
from rudder.agent.records import Trajectory, read_trajectory
from rudder.agent.session import Session
from rudder.interfaces import Phase
from rudder.modes.active import ActiveMode
from rudder.modes.registry import get_mode, parse_mode
from rudder.tools.base import Workspace
from rudder.tools.toolbox import all_tools
from tests.agent.scripted import ScriptedEngine
from tests.agent.test_session import RecordingSteerer, any_vector
from tests.helpers import make_repo


def call(tool: str, thought: str = "I do the next thing now", **args: object) -> str:
    return json.dumps({"thought": thought, "tool": tool, **args})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo", {"hello.py": 'print("hello wrold")\n'})
    return tmp_path / "repo"


CAREFUL_STEERED = """name = "careful-steered"
steer_tool_calls = false
[steps.test]
vectors = [{ vector = "careful", scale = 0.04, layers = "10-15" }]
[steps.review]
vectors = [{ vector = "careful", scale = 0.04, layers = "10-15" }]
[steps.answer]
vectors = [{ vector = "careful", scale = 0.04, layers = "10-15" }]
"""


def run(repo: Path, mode: str, replies: list[str]) -> tuple[Session, list[Event]]:
    events: list[Event] = []
    policy = parse_mode(CAREFUL_STEERED, Path("m.toml")) if mode == "careful-steered" else get_mode(mode)
    s = Session(
        ScriptedEngine(replies),
        Workspace(repo),
        ActiveMode(policy, any_vector),
        config=AgentConfig(max_steps=8),
        steerer=RecordingSteerer(),
        trajectory=Trajectory(repo / ".git" / "run.jsonl"),
        listener=events.append,
    )
    s.run("fix the typo in hello.py")
    return s, events


STEPS = [
    call("read_file", path="hello.py"),
    call("edit_file", path="hello.py", search="wrold", replace="world"),
    call("git_diff"),
    call("finish", answer="fixed"),
]


def test_the_default_protocol_asks_for_a_thought_first() -> None:
    protocol = JsonProtocol(all_tools(), with_thought=True)
    assert protocol.phase("") == Phase.THOUGHT and protocol.phase('{"thought": "rea') == Phase.THOUGHT
    assert protocol.phase('{"thought": "read it", "to') == Phase.TOOL_CALL
    assert "thought" in protocol.grammar()


def test_fast_draft_steers_every_thought_and_no_tool_call(repo: Path) -> None:
    s, events = run(repo, "fast-draft", STEPS)
    assert s.summary.status == "finished"
    for record in s.history:
        assert bool(record.steering["thought"]) == (record.kind.value != "review"), record  # review: vectors = []
        assert record.steering["tool_call"] == []
    steps = [r for r in read_trajectory(repo / ".git" / "run.jsonl") if r["type"] == "step"]
    assert all(step["steering"]["thought"][0]["vector"] == "terse" for step in steps)
    assert any(isinstance(e, SteeringChanged) and e.phase == Phase.TOOL_CALL for e in events)  # the switch


def test_a_careful_mode_steers_thoughts_on_test_review_and_answer_steps(repo: Path) -> None:
    s, _ = run(repo, "careful-steered", STEPS)  # careful-review's own vector is calibrated to 0 on SmolLM2
    by_kind = {r.kind.value: r.steering for r in s.history}
    assert by_kind["explore"] == {"thought": [], "tool_call": []}
    steered = [r for r in s.history if r.kind.value in ("test", "review", "answer")]
    assert steered and all(r.steering["thought"][0]["vector"] == "careful" for r in steered)
    assert all(r.steering["tool_call"] == [] for r in steered)  # steer_tool_calls = false
    assert s.history[0].thought == "I do the next thing now"  # the thought itself is recorded


def test_neutral_records_empty_steering_in_both_phases(repo: Path) -> None:
    s, _ = run(repo, "neutral", STEPS)
    assert all(r.steering == {"thought": [], "tool_call": []} for r in s.history)


def test_thought_tokens_carry_the_thoughts_words_and_no_json_framing(repo: Path) -> None:
    """Front ends stream THOUGHT tokens as prose (ACP thought chunks, the TUI's Markdown): they once got
    `{"thought": "To ...",` with the JSON around the words."""
    _, events = run(repo, "neutral", [call("finish", thought="To end, I finish.", answer="done")])
    tokens = [e for e in events if isinstance(e, Token) and e.step == 0]
    thought = "".join(e.text for e in tokens if e.phase == Phase.THOUGHT)
    assert thought == "To end, I finish."
    assert "".join(e.text for e in tokens if e.phase == Phase.TOOL_CALL) == '{"tool": "finish", "answer": "done"}'
