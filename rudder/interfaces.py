"""The words every layer shares: what kind of step the agent is taking and where inside it the model is
writing. A leaf: it imports nothing of Rudder. The protocols the Session is typed against (Engine,
Generation, Steerer, StepPolicy) live with the agent, in agent/interfaces.py."""

from __future__ import annotations

from enum import StrEnum


class StepKind(StrEnum):
    """What an agent step is doing. Modes choose steering per step kind."""

    PLAN = "plan"
    EXPLORE = "explore"
    EDIT = "edit"
    TEST = "test"
    REVIEW = "review"
    ANSWER = "answer"


class Phase(StrEnum):
    """Where inside a step the model is writing; a mode may steer only some phases."""

    THOUGHT = "thought"  # free text: reasoning, plans, final answers
    TOOL_CALL = "tool_call"  # the structured call itself (JSON arguments, DSML)
