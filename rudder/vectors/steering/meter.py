"""The concept meter: on every generated token, how strongly the residual at a layer points along a vector.

A `Probe` names one vector and the graph node to read (the deepest layer it steers, after the push).
The Steerer puts a capture entry for each probe into the hook table *behind* the steering entries, so
the meter sees the steered residual. The reading is the cosine between that token's residual row and
the vector's unit direction: 0 = unrelated, positive = the concept, negative = its opposite. The capture
callback runs on the generating thread inside llama.cpp's decode; it appends to bounded deques that a UI
may read from any thread (appends and copies of a deque are atomic under the GIL).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rudder.vectors.vector import SteeringVector

HISTORY = 240  # readings kept per probe


@dataclass(frozen=True, eq=False)
class Probe:
    name: str
    node: str  # graph node, e.g. "l_out-15"
    direction: np.ndarray  # unit, float32, n_embd

    @classmethod
    def for_vector(cls, vector: SteeringVector, layers: Sequence[int] | None = None, name: str = "") -> Probe:
        """Read the deepest of `layers` (default: every layer of the vector), where all pushes have landed."""
        layer = max(layers) if layers else max(vector.layers)
        unit = np.ascontiguousarray(vector.unit(layer), dtype=np.float32)
        return cls(name or vector.meta.name, f"{vector.meta.site}-{layer}", unit)


class ConceptMeter:
    """Collects one reading per probe per generated token (decode calls of a single row)."""

    def __init__(self, probes: Sequence[Probe] = ()) -> None:
        self.probes: tuple[Probe, ...] = tuple(probes)
        self.readings: dict[str, deque[float]] = {p.name: deque(maxlen=HISTORY) for p in self.probes}
        self.count = 0  # readings taken since creation, over all probes

    def record(self, index: int, rows: np.ndarray) -> None:
        """The hook's capture callback for entry `index` of this meter's probes."""
        if rows.shape[0] != 1 or not 0 <= index < len(self.probes):
            return  # a prompt batch, not a generated token
        probe = self.probes[index]
        row = rows[0]
        norm = float(np.linalg.norm(row))
        value = float(row @ probe.direction) / norm if norm > 0 else 0.0
        self.readings[probe.name].append(value)
        self.count += 1

    def latest(self) -> dict[str, list[float]]:
        """A copy of every probe's recent readings, oldest first (safe from any thread)."""
        return {name: list(values) for name, values in self.readings.items()}
