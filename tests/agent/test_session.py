"""The agent loop with a scripted model and real tools, git and checkpoints."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import git
import numpy as np
import pytest

from rudder.agent.approval import ApprovalRequest, Decision
from rudder.agent.config import AgentConfig
from rudder.agent.events import Event, StepFinished, Token
from rudder.agent.records import Trajectory, read_trajectory
from rudder.agent.session import Session
from rudder.interfaces import StepKind
from rudder.modes.active import ActiveMode
from rudder.modes.registry import get_mode, parse_mode
from rudder.tools.base import Workspace
from rudder.tools.checkpoints import Checkpoints
from rudder.vectors.steering.plan import UNSTEERED, SteeringPlan
from rudder.vectors.vector import SteeringVector, VectorMeta
from tests.agent.scripted import ScriptedEngine
from tests.helpers import make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo", {"hello.py": 'print("hello wrold")\n'})
    return tmp_path / "repo"


def call(tool: str, **args: object) -> str:
    return json.dumps({"tool": tool, **args})


def any_vector(name: str) -> SteeringVector:
    """Stands in for the library: every named vector exists for the scripted model."""
    layers = range(1, 16)
    identity = ScriptedEngine([]).info.identity.model_copy(update={"n_layer": 30})
    meta = VectorMeta(name=name, model=identity, layer_norms=dict.fromkeys(layers, 1.0))
    return SteeringVector(meta, {layer: np.ones(8, np.float32) for layer in layers})


class RecordingSteerer:
    """Records which plans the session swapped in (the real Steerer is tested on the real model)."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.plan: SteeringPlan = UNSTEERED

    def apply(self, plan: SteeringPlan) -> None:
        self.applied.append(plan.label)
        self.plan = plan

    def clear(self) -> None:
        self.applied.append("clear")
        self.plan = UNSTEERED


def session(repo: Path, replies: list[str], mode: str = "neutral", **config: object) -> tuple[Session, ScriptedEngine]:
    engine = ScriptedEngine(replies)
    policy = ActiveMode(get_mode(mode), any_vector)
    s = Session(
        engine,
        Workspace(repo),
        policy,
        config=AgentConfig(**config),
        steerer=RecordingSteerer(),
        trajectory=Trajectory(repo / ".git" / "run.jsonl"),
    )
    return s, engine


def test_a_run_edits_then_finishes_and_records_every_step(repo: Path) -> None:
    s, engine = session(
        repo,
        [
            call("read_file", path="hello.py"),
            call("edit_file", path="hello.py", search="wrold", replace="world"),
            call("finish", answer="fixed the typo"),
        ],
    )
    summary = s.run("fix the typo in hello.py")
    assert (summary.status, summary.answer, summary.steps) == ("finished", "fixed the typo", 3)
    assert (repo / "hello.py").read_text() == 'print("hello world")\n'
    assert [r.kind for r in s.history] == [StepKind.EXPLORE, StepKind.EXPLORE, StepKind.TEST]
    assert all(g is not None for g in engine.grammars)  # every tool step is grammar-constrained
    assert "Result of read_file:" in engine.prompts[1] and "wrold" in engine.prompts[1]
    records = read_trajectory(repo / ".git" / "run.jsonl")
    # a `tool` record goes ahead of each tool (a run killed during one shows it as unfinished)
    assert [r["type"] for r in records] == ["run", "tool", "step", "tool", "step", "step", "end"]
    assert records[3]["tool"] == "edit_file"
    assert records[4]["tool"] == "edit_file" and records[4]["checkpoint"] == "1"
    assert records[-1]["status"] == "finished"


def test_garbled_calls_become_error_observations_and_are_counted(repo: Path) -> None:
    s, engine = session(repo, ["not json at all", call("nope"), call("finish", answer="done")])
    summary = s.run("anything")
    assert summary.status == "finished" and summary.protocol_errors == 2
    assert "Error: expected a JSON object" in engine.prompts[1]
    assert 'Error: "tool" must be one of' in engine.prompts[2]


def test_tool_errors_and_escapes_are_observations_not_crashes(repo: Path) -> None:
    s, _ = session(repo, [call("read_file", path="../../etc/passwd"), call("finish", answer="x")])
    summary = s.run("read something")
    assert summary.tool_errors == 1 and "'..' is not allowed" in s.history[0].observation


def test_read_only_policy_refuses_writes(repo: Path) -> None:
    s, _ = session(
        repo, [call("write_file", path="new.txt", content="x"), call("finish", answer="x")], approval="read-only"
    )
    s.run("write")
    assert not (repo / "new.txt").exists()
    assert s.history[0].error_kind == "refused" and "read-only" in s.history[0].observation


def test_ask_policy_uses_the_approver(repo: Path) -> None:
    s, _ = session(
        repo,
        [
            call("write_file", path="a.txt", content="x"),
            call("write_file", path="b.txt", content="y"),
            call("finish", answer="x"),
        ],
        approval="ask",
    )
    decisions = iter([Decision.REJECT, Decision.ALLOW_ONCE])
    requests: list[ApprovalRequest] = []

    def approve(request: ApprovalRequest) -> Decision:
        requests.append(request)
        return next(decisions)

    s.approver = approve
    s.run("write two files")
    assert not (repo / "a.txt").exists() and (repo / "b.txt").read_text() == "y"
    assert "declined" in s.history[0].observation
    assert [r.tool for r in requests] == ["write_file", "write_file"]
    assert requests[1].diff is not None and "+y" in requests[1].diff  # the user saw what would change


def test_an_approval_can_be_answered_later_from_another_thread(repo: Path) -> None:
    s, _ = session(repo, [call("write_file", path="a.txt", content="x"), call("finish", answer="x")], approval="ask")
    seen: list[ApprovalRequest] = []

    def answer_later(request: ApprovalRequest) -> None:
        seen.append(request)
        threading.Timer(0.2, request.answer, args=(Decision.ALLOW_ALWAYS,)).start()
        assert not (repo / "a.txt").exists()  # the session is still waiting

    s.approver = answer_later
    assert s.run("write").status == "finished"
    assert (repo / "a.txt").read_text() == "x" and len(seen) == 1 and "write_file" in s.execution.always_allowed


def test_an_interrupt_rejects_a_pending_approval(repo: Path) -> None:
    s, _ = session(repo, [call("write_file", path="a.txt", content="x"), call("finish", answer="x")], approval="ask")
    s.approver = lambda request: threading.Timer(0.1, s.interrupt).start()  # type: ignore[func-returns-value]
    assert s.run("write").status == "stopped"
    assert not (repo / "a.txt").exists() and "interrupted" in s.history[0].observation


def test_rudder_and_git_files_need_approval_even_under_auto(repo: Path) -> None:
    replies = [
        call("write_file", path=".rudder.toml", content='[agent]\napproval = "auto"\n'),
        call("write_file", path=".rudder/modes/mine.toml", content="x"),
        call("write_file", path="notes.txt", content="ok"),
        call("write_file", path=".rudder.toml", content="# approved\n"),
        call("finish", answer="x"),
    ]
    s, _ = session(repo, replies, approval="auto")
    asked: list[ApprovalRequest] = []

    def approve(request: ApprovalRequest) -> Decision:
        asked.append(request)
        # "allow always" must not cover Rudder's own files: the next one is asked again
        return Decision.ALLOW_ALWAYS if len(asked) == 3 else Decision.REJECT

    s.approver = approve
    s.run("loosen my own config")
    assert [r.arguments["path"] for r in asked] == [".rudder.toml", ".rudder/modes/mine.toml", ".rudder.toml"]
    assert asked[0].reason == "write_file writes .rudder.toml is Rudder's config for this repository"
    assert [r.error_kind for r in s.history[:4]] == ["refused", "refused", None, None]  # notes.txt ran unasked
    assert "the user declined write_file" in s.history[0].observation
    assert (repo / ".rudder.toml").read_text() == "# approved\n" and not (repo / ".rudder").exists()


def test_a_synchronous_rejection_keeps_its_reason(repo: Path) -> None:
    s, _ = session(repo, [call("run_shell", command="ls"), call("finish", answer="x")])  # unsandboxed: asks

    def reject(request: ApprovalRequest) -> Decision:
        request.message = "no terminal to ask on"
        return Decision.REJECT

    s.approver = reject
    s.run("list")
    assert "the user declined run_shell: no terminal to ask on" in s.history[0].observation


def test_allow_always_does_not_cover_sensitive_writes(repo: Path) -> None:
    replies = [
        call("write_file", path="a.txt", content="x"),
        call("write_file", path=".rudder.toml", content="# x\n"),
        call("finish", answer="x"),
    ]
    s, _ = session(repo, replies, approval="ask")
    asked: list[str] = []
    s.approver = lambda request: asked.append(request.arguments["path"]) or Decision.ALLOW_ALWAYS  # type: ignore[func-returns-value]
    s.run("write")
    assert asked == ["a.txt", ".rudder.toml"]


def test_unsandboxed_shell_needs_approval_unless_auto_was_chosen(repo: Path) -> None:
    replies = [call("run_shell", command="touch ran.txt"), call("finish", answer="x")]
    s, _ = session(repo, replies)  # approval not set, Workspace without a sandbox
    s.run("run it")
    assert not (repo / "ran.txt").exists()
    assert "would run without a sandbox" in s.history[0].observation
    s, _ = session(repo, replies, approval="auto")
    s.run("run it")
    assert (repo / "ran.txt").exists()


def test_mode_tool_policy_makes_review_steps_read_only(repo: Path) -> None:
    (repo / "test_hello.py").write_text("def test_ok():\n    assert True\n")
    replies = [
        call("write_file", path="a.txt", content="x"),
        call("run_tests"),
        call("write_file", path="b.txt", content="y"),
        call("finish", answer="x"),
    ]
    s, _ = session(repo, replies, mode="careful-review", approval="auto")  # auto: run_tests without a sandbox
    s.run("write")
    kinds = [(r.kind, r.tool, r.error_kind) for r in s.history]
    assert kinds[:3] == [
        (StepKind.EXPLORE, "write_file", None),
        (StepKind.TEST, "run_tests", None),
        (StepKind.REVIEW, "write_file", "refused"),  # careful-review forbids writes while reviewing
    ]
    assert (repo / "a.txt").exists() and not (repo / "b.txt").exists()


def test_limits_stop_the_run(repo: Path) -> None:
    s, _ = session(repo, [call("list_files", pattern=f"*{i}") for i in range(10)], max_steps=3)
    summary = s.run("loop forever")
    assert summary.status == "max_steps" and summary.steps == 3


def test_interrupt_from_outside_stops_generation_within_a_token(repo: Path) -> None:
    s, engine = session(repo, ['{"tool": "write_file", "path": "a.txt", "content": "' + "word " * 50 + '"}'] * 2)
    tokens: list[Token] = []

    def listen(event: Event) -> None:
        if isinstance(event, Token):
            tokens.append(event)
            if len(tokens) == 3:
                s.interrupt()

    s.listener = listen
    assert s.run("anything").status == "stopped"
    assert len(tokens) == 3 and not (repo / "a.txt").exists()
    assert s.ws.cancel.is_set()  # a running tool would be killed too
    # the conversation goes on after an interrupt
    engine.replies = [call("finish", answer="ok")]
    assert s.send("never mind, just finish").status == "finished"


def test_every_edit_step_can_be_undone(repo: Path) -> None:
    (repo / "mine.txt").write_text("the user's own untracked file\n")
    s, _ = session(
        repo,
        [
            call("write_file", path="new.txt", content="x"),
            call("edit_file", path="hello.py", search="wrold", replace="world"),
            call("finish", answer="x"),
        ],
    )
    s.run("change things")
    checkpoints = Checkpoints(repo)
    checkpoints.undo()
    assert (repo / "hello.py").read_text() == 'print("hello wrold")\n' and (repo / "new.txt").exists()
    checkpoints.undo()
    assert not (repo / "new.txt").exists()
    assert (repo / "mine.txt").read_text() == "the user's own untracked file\n"
    assert git.Repo(repo).head.commit.message == "init"


def test_mode_switch_takes_effect_at_the_next_step(repo: Path) -> None:
    s, _ = session(repo, [call("list_files"), call("list_files"), call("finish", answer="x")])
    fast = ActiveMode(get_mode("neutral/prompt-only"), lambda n: None)  # type: ignore[arg-type,return-value]
    original = s.listener

    def switch(event: Event) -> None:
        if isinstance(event, StepFinished) and event.record.index == 0:
            s.switch_policy(fast)
        original(event)

    s.listener = switch
    s.run("look around")
    assert [r.mode for r in s.history] == ["neutral", "neutral/prompt-only", "neutral/prompt-only"]


def test_the_plan_step_writes_free_text_without_a_grammar(repo: Path) -> None:
    s, engine = session(repo, ["First read hello.py, then fix it.", call("finish", answer="x")], plan_first=True)
    s.run("fix it")
    assert s.history[0].kind == StepKind.PLAN and s.history[0].output.startswith("First read")
    assert engine.grammars[0] is None and engine.grammars[1] is not None


def test_steering_per_step_is_recorded(repo: Path) -> None:
    mode = parse_mode(
        'name = "m"\n[steps.explore]\nvectors = [{vector = "v", scale = 0.5, layers = "1-3"}]\n', Path("m.toml")
    )
    engine = ScriptedEngine([call("list_files"), call("write_file", path="a", content="b"), call("finish", answer="x")])
    steerer = RecordingSteerer()
    s = Session(engine, Workspace(repo), ActiveMode(mode, any_vector), steerer=steerer)
    s.run("x")
    steered = [
        {
            "vector": "v",
            "scale": 0.5,
            "scale_mode": "relative",
            "layers": [1, 2, 3],
            "op": "add",
            "scope": "all",
            "site": "l_out",
        }
    ]
    assert s.history[0].steering == {"thought": steered, "tool_call": steered}
    assert s.history[2].steering == {"thought": [], "tool_call": []}  # the finish step (test kind) is unsteered
    assert steerer.applied[:1] == ["m"] and steerer.applied[-1] == "clear"


def test_mode_switch_now_takes_effect_at_the_next_token(repo: Path) -> None:
    mode = parse_mode('name = "m"\n[[vectors]]\nvector = "v"\nscale = 0.5\nlayers = "1-3"\n', Path("m.toml"))
    steerer = RecordingSteerer()
    engine = ScriptedEngine(
        [call("write_file", path="a.txt", content="one two three four"), call("finish", answer="x")]
    )
    s = Session(engine, Workspace(repo), ActiveMode(get_mode("neutral"), any_vector), steerer=steerer)
    tokens_seen = []

    def listen(event: Event) -> None:
        if isinstance(event, Token):
            tokens_seen.append(len(steerer.applied))
            if len(tokens_seen) == 2:
                s.switch_policy(ActiveMode(mode, any_vector), now=True)

    s.listener = listen
    s.run("write")
    # the first step starts unsteered and switches to the new mode's plan after its second token
    assert steerer.applied[0] == "unsteered" and "m" in steerer.applied
    assert tokens_seen[1] < tokens_seen[2]
    assert s.history[1].mode == "m"
    assert (
        s.history[0].steering["tool_call"] == [] and s.history[0].steering["tool_call (switched)"][0]["vector"] == "v"
    )


def test_step_addenda_ride_on_the_newest_message(repo: Path) -> None:
    mode = parse_mode('name = "m"\naddendum = "Be brief."\n[steps.test]\naddendum = "Run the tests."\n', Path("m.toml"))
    engine = ScriptedEngine([call("write_file", path="a.txt", content="x"), call("finish", answer="x")])
    s = Session(engine, Workspace(repo), ActiveMode(mode, any_vector), steerer=RecordingSteerer())
    s.run("write")
    assert "Be brief." in engine.prompts[0].split("<user>")[0]  # the mode's addendum is in the system prompt
    assert "Run the tests." not in engine.prompts[0]
    assert engine.prompts[1].rstrip().endswith("Be brief.\nRun the tests.")  # the test step's addendum, last
