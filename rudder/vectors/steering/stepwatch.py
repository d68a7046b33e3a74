"""The step watcher: a generation watcher (engine/generation.Watcher) for one agent step that finds the
first token of the thought and of the tool call, records the residual there, and reads the gates.

    watch = StepWatch.start(steerer, step, recorder=..., bounds=protocol.thought_bounds, on_gate=...)
    engine.stream(prompt, sampling, watchers=[watch])
    watch.readings        # every gate reading of the step (trajectory `gate`)

Positions are found from the text: the thought's first token is the first one whose text reaches past
the thought's opening quote (a free-text step: the first token); the call's first token is the first one
that reaches past the thought's closing quote. The watcher runs after a token was evaluated, when the
Steerer's taps hold that token's residual, and before the next token is sampled, so an opened gate
steers from the very next token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rudder.vectors.extraction.recording import ActivationRecorder
from rudder.vectors.steering.gate import Gate, GateReading, read

if TYPE_CHECKING:
    from rudder.vectors.steering.steerer import Steerer

Bounds = Callable[[str], tuple[int | None, int | None]]


def free_text(text: str) -> tuple[int | None, int | None]:
    """A step without a tool call (a plan): its thought starts at once; there is no call."""
    return 0, None


class StepWatch:
    def __init__(
        self,
        steerer: Steerer,
        step: int,
        *,
        recorder: ActivationRecorder | None = None,
        bounds: Bounds = free_text,
        on_gate: Callable[[GateReading], None] | None = None,
    ) -> None:
        self.steerer, self.step, self.recorder, self.bounds = steerer, step, recorder, bounds
        self.on_gate = on_gate or (lambda reading: None)
        self.readings: list[GateReading] = []
        self.thought_at: int | None = None  # index of the thought's first token
        self.call_at: int | None = None
        self._open: set[str] = set()
        steerer.open_gates(set())  # a new step: every gate closed until it is read
        steerer.residual.clear()

    @classmethod
    def start(cls, steerer: Any, step: int, **kwargs: Any) -> StepWatch | None:
        """A watcher when the steerer can read the residual (a scripted test steerer cannot), else None."""
        if not hasattr(steerer, "open_gates"):
            return None
        return cls(steerer, step, **kwargs)

    def observe(self, generation: Any, token: int) -> None:
        index = len(generation.tokens) - 1  # the token just evaluated
        length = len(generation.text)
        thought, call = self.bounds(generation.text)
        if self.thought_at is None and thought is not None and length > thought:
            self.thought_at = index
            self._record("thought")
            self._read_gates(index)
        elif self.thought_at is not None:
            self._read_again(index)
        if self.call_at is None and call is not None and length > call:
            self.call_at = index
            self._record("call")

    def _record(self, position: str) -> None:
        if self.recorder is not None:
            self.recorder.add(self.step, position, self.steerer.residual)

    def _gates(self) -> tuple[Gate, ...]:
        return self.steerer.plan.gates

    def _read_gates(self, index: int, only: tuple[Gate, ...] | None = None) -> None:
        changed = False
        for gate in only if only is not None else self._gates():
            row = self.steerer.residual.get(gate.node)
            if row is None or gate.key in self._open:
                continue
            reading = read(gate, row, index)
            self.readings.append(reading)
            if reading.fired:
                self._open.add(gate.key)
                changed = True
            self.on_gate(reading)
        if changed:
            self.steerer.open_gates(self._open)

    def _read_again(self, index: int) -> None:
        """Gates with `every = N` are read again every N tokens after the first reading, until they fire."""
        assert self.thought_at is not None
        since = index - self.thought_at
        due = tuple(g for g in self._gates() if g.every and since % g.every == 0 and g.key not in self._open)
        if due and since > 0:
            self._read_gates(index, due)

    def finish(self) -> list[dict[str, Any]]:
        """The step's gate readings for its trajectory record; the gates close until the next step."""
        self.steerer.open_gates(set())
        return [reading.as_dict() for reading in self.readings]
