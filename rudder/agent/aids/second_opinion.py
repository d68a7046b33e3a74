"""A mode must not make the agent undo its own correct work: where a mode's step goes wrong in a way the
harness can see, the step is asked again with the mode set aside (no steering, no addendum).

Found on the embedded model (issue 22): in fast-draft, "in config.py, change PORT from 80 to 8080" got a
correct first edit, then the next step (where neutral calls finish) edited the fresh line again and left
`PORT = 8080, change to 8080` (the addendum alone did it too: "make the smallest change" read as "make a
change"); and a terse-steered thought degenerated into `to 8080, to 808080, to 80808080, ...`, which the
unsteered call then copied into the file; and, after a steered thought, the call's "replace" ran on as
`PORT = 8080; 1; 2; 3; ...` to the token limit. The signs the harness acts on:

- a write to the file this turn's latest change touched (the "is it done?" step re-edits fresh work):
  the unsteered model decides; when it calls finish, the work stands;
- a steered thought that degenerates (repeats itself, or compresses like a loop): the call is cut and
  asked again unsteered, before it can copy the loop into a file;
- a call the mode's step left unusable (not valid JSON, cut at the token limit, a runaway string).

Only modes that shape the step (a steered phase or an addendum) are second-guessed; neutral never is. The
second query starts from an empty KV cache: the conversation in the cache was read under the mode's
steering (steering applies to prompt tokens too), and an unsteered call on top of it still wrote junk.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

from rudder.agent.context import Conversation
from rudder.agent.discipline import runaway
from rudder.agent.interfaces import StepPolicy
from rudder.agent.protocols.calls import ProtocolError, ToolCall, ToolCallProtocol
from rudder.agent.records import StepRecord
from rudder.agent.turn import Reply
from rudder.engine.generation import Sampling
from rudder.interfaces import Phase, StepKind
from rudder.tools.base import ToolError, Workspace
from rudder.vectors.steering.plan import UNSTEERED, SteeringPlan

WRITES = ("edit_file", "write_file")
THOUGHT_WINDOW, THOUGHT_RATIO = 80, 0.5  # a thought this long that zlib shrinks below this ratio is a loop


def shapes(policy: StepPolicy, kind: StepKind) -> bool:
    """Whether the mode changes what the model sees or how it thinks on this kind of step."""
    steered = any(not policy.plan(kind, phase).empty for phase in Phase)
    return steered or bool(policy.addendum(kind).strip())


def rewrites_fresh_change(call: ToolCall, turn_steps: list[StepRecord], ws: Workspace) -> int | None:
    """The step whose change this write would redo: the turn's latest successful change, when this call
    writes the same file again. None otherwise."""
    if call.tool not in WRITES:
        return None
    last = next((s for s in reversed(turn_steps) if s.ok and s.diff and s.tool in WRITES and s.arguments), None)
    if last is None or last.arguments is None:
        return None
    try:
        same = ws.resolve(str(call.arguments().get("path", ""))) == ws.resolve(str(last.arguments.get("path", "")))
    except ToolError:
        return None
    return last.index if same else None


def reason(reply: Reply, protocol: ToolCallProtocol, turn_steps: list[StepRecord], ws: Workspace) -> str | None:
    """Why a mode's step should be asked again (its thought looped, its call ran away or is not valid, or it
    rewrites the turn's fresh change), else None."""
    if reply.thought_loop is not None:
        return f"the steered thought looped on {reply.thought_loop.strip()[:40]!r}"
    if reply.runaway is not None:
        return f"its call ran away on {reply.runaway.strip()[:40]!r}"
    try:
        call = protocol.parse(reply.text)
    except ProtocolError as exc:
        return f"its call was not valid ({exc})"
    changed_at = rewrites_fresh_change(call, turn_steps, ws)
    return None if changed_at is None else f"it re-edited what step {changed_at} had just changed"


def degenerate_thought(thought: str) -> str | None:
    """The repeating tail when a thought loops (exactly, or compresses like a loop), else None."""
    unit = runaway(thought, min_span=24)
    if unit is not None:
        return unit
    if len(thought) >= THOUGHT_WINDOW:
        data = thought.encode("utf-8")
        if len(zlib.compress(data, 9)) < THOUGHT_RATIO * len(data):
            return thought[-40:]
    return None


@dataclass
class ModeSetAside:
    """The active mode with its steering and addendum set aside; tool policy (read-only steps, tests before
    finish) stays the mode's: only how the model is pushed changes, not what it may do."""

    mode: StepPolicy

    @property
    def name(self) -> str:
        return f"{self.mode.name} (set aside)"

    def plan(self, kind: StepKind, phase: Phase) -> SteeringPlan:
        return UNSTEERED

    def sampling(self, kind: StepKind, base: Sampling) -> Sampling:
        return base

    def addendum(self, kind: StepKind) -> str:
        return ""

    def read_only(self, kind: StepKind) -> bool:
        return self.mode.read_only(kind)

    @property
    def test_before_finish(self) -> bool:
        return bool(getattr(self.mode, "test_before_finish", False))


def without_addendum(system: str, addendum: str) -> str:
    """The system prompt as it reads with no mode addendum (prompts.system_prompt puts it on its own line)."""
    text = addendum.strip()
    return system.replace(f"\n{text}", "", 1) if text else system


def ask_again(
    reply: Reply, record: StepRecord, turn_steps: list[StepRecord], policy: StepPolicy, protocol: ToolCallProtocol,
    ws: Workspace, conversation: Conversation, system_addendum: str, reset: Callable[[], None],
    query: Callable[..., Reply], retrying: Callable[[str], None] = lambda why: None,
) -> Reply:
    """The mode's reply, or, when its step visibly went wrong, the reply asked again with the mode set aside:
    `query(policy=..., system_addendum=...)` asks the model, `reset` empties the KV cache first, `retrying(why)`
    is told just before (so readers can take back what the mode's reply streamed)."""
    if not shapes(policy, record.kind):
        return reply
    why = reason(reply, protocol, turn_steps, ws)
    if why is None:
        return reply
    record.second_opinion = f"{why}; the mode's call: {reply.text[:400]}"
    retrying(why)
    system = conversation.system
    conversation.system = without_addendum(system, system_addendum)
    reset()  # the cached conversation was read under the mode's steering: read it afresh
    try:
        return query(policy=ModeSetAside(policy), system_addendum="")
    finally:
        conversation.system = system
