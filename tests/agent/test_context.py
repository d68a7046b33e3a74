"""The context window: what gets shortened, dropped and summarised, and what never goes."""

from __future__ import annotations

from rudder.agent.context import TRIM_TO, Conversation
from rudder.agent.records import StepRecord
from rudder.agent.steps import next_step_kind
from rudder.interfaces import StepKind


def words(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"].split()) for m in messages)


def conversation(turns: int = 6) -> Conversation:
    c = Conversation(system="system prompt", task="Task: THE TASK", example=[{"role": "user", "content": "ex " * 50}])
    for i in range(turns):
        c.add(f"call {i}", f"observation {i} " + "data " * 200, f"read_file f{i}.py -> ok")
    return c


def test_everything_stays_when_it_fits() -> None:
    c = conversation()
    assert c.fit(words, 10_000) == c.messages()
    assert not any(t.shortened for t in c.turns) and c.include_example


def test_old_observations_are_shortened_first_and_recent_ones_kept() -> None:
    c = conversation()
    full = words(c.messages())
    messages = c.fit(words, full - 100)
    assert words(messages) <= TRIM_TO * (full - 100)
    assert c.turns[0].shortened and not c.turns[-1].shortened and not c.turns[-2].shortened
    assert c.include_example  # shortening was enough
    assert "characters of this old result omitted" in messages[3]["content"] + messages[4]["content"]


def test_then_the_example_goes_then_old_steps_are_summarised_but_the_task_stays() -> None:
    c = conversation()
    messages = c.fit(words, 450)
    assert words(messages) <= 450
    assert not c.include_example and c.summarised > 0
    task = next(m["content"] for m in messages if m["content"].startswith("Task: THE TASK"))
    assert "Steps already taken (summarised):\n1. read_file f0.py -> ok" in task
    assert messages[0]["content"] == "system prompt"
    assert messages[-1]["content"].startswith("observation 5")


def test_a_shrunk_prompt_leaves_room_so_the_next_steps_only_append() -> None:
    """Shrinking just under the limit changed the prompt's middle again at the next step (the KV cache then
    re-reads or shifts everything after it); shrinking well below it lets the next turns append."""
    c = conversation()
    limit = words(c.messages()) - 300
    first = c.fit(words, limit)
    c.add("call 6", "observation 6 " + "data " * 200, "read_file f6.py -> ok")
    second = c.fit(words, limit)
    assert words(second) <= limit and second[: len(first)] == first


def test_nothing_left_to_shrink_returns_the_minimum() -> None:
    c = conversation(turns=2)
    messages = c.fit(words, 10)
    assert messages[0]["content"] == "system prompt" and any("THE TASK" in m["content"] for m in messages)


def step(kind: StepKind, tool: str | None, ok: bool = True) -> StepRecord:
    return StepRecord(index=0, kind=kind, mode="m", tool=tool, ok=ok)


def test_step_kind_prediction() -> None:
    assert next_step_kind([], plan_first=True, max_steps=10) == StepKind.PLAN
    assert next_step_kind([], plan_first=False, max_steps=10) == StepKind.EXPLORE
    assert next_step_kind([step(StepKind.EDIT, "edit_file")], plan_first=False, max_steps=10) == StepKind.TEST
    assert next_step_kind([step(StepKind.TEST, "run_tests")], plan_first=False, max_steps=10) == StepKind.REVIEW
    assert next_step_kind([step(StepKind.REVIEW, "git_diff")], plan_first=False, max_steps=10) == StepKind.ANSWER
    failed_test = step(StepKind.TEST, "run_tests", ok=False)
    assert next_step_kind([failed_test], plan_first=False, max_steps=10) == StepKind.EDIT
    explored = [step(StepKind.EXPLORE, "read_file")] * 2
    assert next_step_kind(explored, plan_first=False, max_steps=10) == StepKind.EDIT
    assert next_step_kind(explored, plan_first=False, max_steps=3) == StepKind.ANSWER


def test_step_kinds_come_from_the_tools_metadata() -> None:
    """A new tool steers the loop by what it declares, not by a list of names in steps.py."""
    kinds = {"apply_patch": StepKind.EDIT, "lint": StepKind.TEST, "pr_view": StepKind.REVIEW}
    after = {tool: next_step_kind([step(StepKind.EXPLORE, tool)], plan_first=False, max_steps=10, tool_kinds=kinds)
             for tool in kinds}  # fmt: skip
    assert after == {"apply_patch": StepKind.TEST, "lint": StepKind.REVIEW, "pr_view": StepKind.ANSWER}
    failed = step(StepKind.EDIT, "apply_patch", ok=False)
    assert next_step_kind([failed], plan_first=False, max_steps=10, tool_kinds=kinds) == StepKind.EDIT
    # after a commit the run answers, like after any review tool
    assert next_step_kind([step(StepKind.REVIEW, "git_commit")], plan_first=False, max_steps=10) == StepKind.ANSWER
