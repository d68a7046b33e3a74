"""The collapse guard: watches a steered generation token by token, and when it falls into a repetition loop or
its next-token entropy collapses, backs the steering off, rewinds the repeated tokens and says so.

    guard = CollapseGuard(steerer)
    engine.complete(prompt, sampling, watchers=[guard])
    guard.events          # what it saw and did: kind, where, scale factor before/after, tokens rewound

Each action multiplies the plan the guard found active by `backoff` (0.5: half the push); below `min_factor`
the steering is cleared; a loop that survives unsteered generation ends it (stop_reason "cancelled", the
repeats rewound, one copy kept). Backing off, the guard rewinds the whole loop, its first copy too
(`rebranch`), so the weaker push continues from where the loop began instead of from inside it. The guard only
acts while something is steered. If someone else swaps the plan (a mode switch, a phase change), the guard
starts from the new plan at factor 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from rudder.vectors.steering.plan import UNSTEERED, SteeringPlan
from rudder.vectors.vector import SteeringOp

if TYPE_CHECKING:  # llama.cpp stays unloaded: the agent imports this with a scripted model too
    from rudder.engine.streaming import Generation
    from rudder.vectors.steering.steerer import Steerer


@dataclass(frozen=True)
class GuardEvent:
    kind: Literal["loop", "entropy"]
    at_token: int  # generated tokens so far when it acted
    detail: str
    factor_before: float
    factor_after: float  # 0 = steering cleared
    rewound: int  # tokens taken back
    action: Literal["backed-off", "cleared", "stopped"]
    plan: list[dict[str, Any]]  # the steering now active

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def find_loop(tokens: Sequence[int], min_span: int = 24, max_period: int = 64) -> tuple[int, int] | None:
    """(period, span) when the tail repeats itself: the last `span` tokens equal the `span` before them
    shifted by `period`, with span >= max(min_span, period) (at least two full copies)."""
    n = len(tokens)
    for period in range(1, min(max_period, n // 2) + 1):
        span = 0
        while span < n - period and tokens[n - 1 - span] == tokens[n - 1 - span - period]:
            span += 1
        if span >= max(min_span, period):
            return period, span
    return None


def _repeat_span(tokens: Sequence[int], period: int) -> int:
    """How many tail tokens equal the tokens `period` before them (all copies of a loop but the first)."""
    n, span = len(tokens), 0
    while span < n - period and tokens[n - 1 - span] == tokens[n - 1 - span - period]:
        span += 1
    return span


def entropy(logits: np.ndarray) -> float:
    """Shannon entropy (nats) of softmax(logits)."""
    z = logits.astype(np.float64) - float(logits.max())
    p = np.exp(z)
    total = p.sum()
    return float(math.log(total) - (p * z).sum() / total)


def scaled(plan: SteeringPlan, factor: float) -> SteeringPlan:
    """The same plan with every push multiplied by `factor` (ablation, which has no strength, is kept
    until the factor reaches 0)."""
    if factor <= 0 or plan.empty:
        return UNSTEERED
    ops = []
    for op in plan.ops:
        if op.op == SteeringOp.ADD:
            ops.append(replace(op, direction=(op.direction * np.float32(factor)).astype(np.float32)))
        elif op.op == SteeringOp.PROJECT_OUT:
            ops.append(replace(op, scale=op.scale * factor))
        else:
            ops.append(op)
    summary = tuple({**item, "scale": round(item.get("scale", 1.0) * factor, 6)} for item in plan.summary)
    return SteeringPlan(tuple(ops), f"{plan.label} ×{factor:g}", summary)


class CollapseGuard:
    def __init__(
        self,
        steerer: Steerer,
        *,
        backoff: float = 0.5,
        min_factor: float = 0.2,
        min_loop: int = 24,
        max_period: int = 64,
        entropy_floor: float | None = 0.01,
        entropy_window: int = 32,
        rewind: bool = True,
        rebranch: bool = True,
        on_event: Callable[[GuardEvent], None] | None = None,
    ) -> None:
        self.steerer = steerer
        self.backoff, self.min_factor = backoff, min_factor
        self.min_loop, self.max_period = min_loop, max_period
        self.entropy_floor, self.entropy_window = entropy_floor, entropy_window
        self.rewind, self.rebranch = rewind, rebranch
        self.on_event = on_event
        self.events: list[GuardEvent] = []
        self.factor = 1.0
        self._base: SteeringPlan = UNSTEERED
        self._applied: SteeringPlan | None = None
        self._since = 0  # only tokens after the last action count as new evidence
        self._low_entropy = 0
        self._generation: Generation | None = None

    @property
    def active(self) -> bool:
        return not self._base.empty

    def observe(self, generation: Generation, token: int) -> None:
        if generation is not self._generation:  # a new generation: fresh evidence, same steering
            self._generation, self._since, self._low_entropy = generation, 0, 0
        current = self.steerer.plan
        if current is not self._applied:  # someone else chose the steering: start from it
            self._base, self._applied, self.factor = current, current, 1.0
        if not self.active:
            return
        tokens = generation.tokens[self._since :]
        loop = find_loop(tokens, self.min_loop, self.max_period)
        if loop is not None:
            period, span = loop
            # The evidence is new, but the loop may reach back past the last action (copies left after
            # an earlier rewind): take all of them back.
            whole = _repeat_span(generation.tokens, period)
            detail = f"a {period}-token phrase repeated over {span + period} tokens"
            backing_off = self.factor > 0 and self.rebranch
            # Backing off, the first copy goes too, so the weaker push can take another path from where the
            # loop began; when the loop survives unsteered, one copy stays and the generation ends.
            self._act(generation, "loop", detail, min(whole + period, len(generation.tokens)) if backing_off else whole)
            return
        if self.entropy_floor is not None and self.factor > 0:
            h = entropy(generation.engine.logits())
            self._low_entropy = self._low_entropy + 1 if h < self.entropy_floor else 0
            if self._low_entropy >= self.entropy_window:
                detail = f"next-token entropy below {self.entropy_floor} nats for {self._low_entropy} tokens"
                self._act(generation, "entropy", detail, 0)

    def _act(self, generation: Generation, kind: Literal["loop", "entropy"], detail: str, repeated: int) -> None:
        before = self.factor
        stopping = before == 0.0
        if not stopping:
            self.factor = before * self.backoff
            if self.factor < self.min_factor:
                self.factor = 0.0
            self._applied = scaled(self._base, self.factor)
            self.steerer.apply(self._applied)
        rewound = 0
        if self.rewind and repeated and generation.rewindable:
            rewound = repeated
            generation.rewind(repeated)
        if stopping:
            generation.cancel()
        action = "stopped" if stopping else ("cleared" if self.factor == 0 else "backed-off")
        at = generation.stats.generated_tokens
        event = GuardEvent(kind, at, detail, before, self.factor, rewound, action, self._applied.describe())
        self.events.append(event)
        self._since, self._low_entropy = len(generation.tokens), 0
        if self.on_event:
            self.on_event(event)
