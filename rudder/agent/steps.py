"""Which kind of step comes next. The kind is decided before the model writes, because modes pick the
steering for a step from its kind; the tool the model then calls is recorded beside it."""

from __future__ import annotations

from collections.abc import Sequence

from rudder.agent.records import StepRecord
from rudder.interfaces import StepKind

_EDIT_TOOLS = {"write_file", "edit_file"}
_TEST_TOOLS = {"run_tests"}
_REVIEW_TOOLS = {"git_diff", "git_status"}


def next_step_kind(history: Sequence[StepRecord], *, plan_first: bool, max_steps: int) -> StepKind:
    if not history:
        return StepKind.PLAN if plan_first else StepKind.EXPLORE
    if len(history) >= max_steps - 1:
        return StepKind.ANSWER  # last chance to report
    last = history[-1]
    if not last.ok:
        return StepKind.EDIT if last.tool in _EDIT_TOOLS | _TEST_TOOLS else last.kind
    if last.tool in _EDIT_TOOLS:
        return StepKind.TEST
    if last.tool in _TEST_TOOLS:
        return StepKind.REVIEW
    if last.tool in _REVIEW_TOOLS:
        return StepKind.ANSWER
    if last.kind == StepKind.PLAN:
        return StepKind.EXPLORE
    explored = sum(1 for step in history if step.kind == StepKind.EXPLORE)
    return StepKind.EDIT if explored >= 2 else StepKind.EXPLORE
