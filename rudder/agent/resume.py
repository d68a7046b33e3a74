"""Resuming a saved session: a trajectory's records become the conversation and history again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rudder.agent import prompts
from rudder.agent.protocol import ToolCallProtocol
from rudder.agent.records import StepRecord
from rudder.interfaces import StepKind

if TYPE_CHECKING:
    from rudder.agent.session import Session


def restore_session(session: Session, records: list[dict[str, Any]]) -> None:
    runs = [r for r in records if r.get("type") == "run"]
    if not runs:
        raise ValueError("the trajectory has no run record: nothing to resume")
    session.run_setup(str(runs[0]["task"]))
    conversation = session.conversation
    assert conversation is not None
    for record in records:
        if record.get("type") == "run" and record.get("turn", 1) > 1:
            conversation.add_user(prompts.follow_up_message(str(record["task"])))
        elif record.get("type") == "step":
            step = StepRecord.model_validate({k: v for k, v in record.items() if k not in ("type", "time")})
            session.history.append(step)
            conversation.add(step.output, replayed_observation(step, session.protocol), f"{step.tool} (restored)")
    session.turn = max((int(r.get("turn", 1)) for r in runs), default=1)


def replayed_observation(step: StepRecord, protocol: ToolCallProtocol | None = None) -> str | None:
    """What the model saw after a recorded step, rebuilt the way the live loop words it."""
    if step.kind == StepKind.PLAN:
        return prompts.act_now(protocol)
    if step.error_kind == "protocol":
        return prompts.error_observation(step.observation, protocol)
    if step.tool == "finish":
        return None
    return prompts.observation(step.tool or "tool", step.observation, protocol)
