"""Which kind of step comes next. The kind is decided before the model writes, because modes pick the
steering for a step from its kind; the tool the model then calls is recorded beside it.

What a tool's use means comes from the tool itself (`Tool.step_kind`): after an edit comes a test,
after a test a review, after a review the answer; a failed edit or test calls for an edit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rudder.agent.records import StepRecord
from rudder.interfaces import StepKind
from rudder.tools.toolbox import TOOLS_BY_NAME

DEFAULT_TOOL_KINDS: Mapping[str, StepKind] = {name: tool.step_kind for name, tool in TOOLS_BY_NAME.items()}
_AFTER = {StepKind.EDIT: StepKind.TEST, StepKind.TEST: StepKind.REVIEW, StepKind.REVIEW: StepKind.ANSWER}


def next_step_kind(
    history: Sequence[StepRecord],
    *,
    plan_first: bool,
    max_steps: int,
    tool_kinds: Mapping[str, StepKind] = DEFAULT_TOOL_KINDS,
) -> StepKind:
    if not history:
        return StepKind.PLAN if plan_first else StepKind.EXPLORE
    if len(history) >= max_steps - 1:
        return StepKind.ANSWER  # last chance to report
    last = history[-1]
    used = tool_kinds.get(last.tool or "")
    if not last.ok:
        return StepKind.EDIT if used in (StepKind.EDIT, StepKind.TEST) else last.kind
    if used in _AFTER:
        return _AFTER[used]
    if last.kind == StepKind.PLAN:
        return StepKind.EXPLORE
    explored = sum(1 for step in history if step.kind == StepKind.EXPLORE)
    return StepKind.EDIT if explored >= 2 else StepKind.EXPLORE
