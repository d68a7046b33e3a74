"""What one turn carries (a `run` or a `send`), what the model wrote for a step, and how a turn ends.

A new `TurnState` starts every turn: step kinds, limits, loop detection and the careful modes' test
bounce are all per turn. The Session hands it to the collaborators that read or change it, so every
piece of per-turn state is declared here, in one place, with what it means.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rudder.agent.config import AgentConfig
from rudder.agent.discipline import LoopWatch
from rudder.agent.records import StepRecord


class Stop(Exception):
    """Ends the turn; carries the status for the summary."""

    def __init__(self, status: str, answer: str = "") -> None:
        super().__init__(status)
        self.status, self.answer = status, answer


@dataclass(frozen=True)
class Reply:
    """What the model wrote for one step."""

    text: str
    runaway: str | None = None  # the repeating unit when the call was cut off for repeating itself
    thought_loop: str | None = None  # the loop a steered thought fell into (the call was cut there)


@dataclass
class TurnState:
    number: int  # 1 for the session's first turn; a restored session goes on from its last
    task: str  # the task or follow-up message that started the turn
    steps: list[StepRecord] = field(default_factory=list)  # this turn's steps (Session.history has all)
    loops: LoopWatch = field(default_factory=LoopWatch)  # repeated calls and errors; writes that changed the repo
    tested_at: int = -1  # loops.changes when the harness last ran the tests before finish (careful modes)
    bounced: bool = False  # failing tests already sent the model back once; the next finish reports them
    warm_steps: int = 0  # tool-call steps left to sample warmer (change course after a repeat)

    def take_warm_step(self) -> bool:
        """Whether this tool-call step samples warmer (and, if so, one warm step fewer is left)."""
        warm = self.warm_steps > 0
        self.warm_steps -= warm
        return warm

    def check_limits(self, interrupted: bool, config: AgentConfig, tokens: int) -> None:
        """Raise the Stop that ends the turn before another step: interrupted, or steps or tokens used up."""
        if interrupted:
            raise Stop("stopped")
        if len(self.steps) >= config.max_steps:
            raise Stop("max_steps")
        if tokens >= config.token_budget:
            raise Stop("token_budget")
