"""`SteeringPlan`: exactly which op runs at which graph node, resolved from vectors and scales.

Modes build plans; the Steerer applies them. A plan is immutable and cheap to compare, so swapping
to the plan that is already active costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rudder.vectors.kinds import ScaleMode, Scope, SteeringOp
from rudder.vectors.steering.gate import Gate
from rudder.vectors.vector import SteeringVector, VectorError


@dataclass(frozen=True, eq=False)
class PlannedOp:
    site: str
    layer: int
    op: SteeringOp
    scope: Scope
    direction: np.ndarray  # add: the exact push vector; project-out/ablate: the unit direction
    scale: float  # add: 1.0 (already in direction); project-out: fraction removed; ablate: 1.0
    source: str  # "<vector> ×<scale>" for trajectories and the UI
    gate: Gate | None = None  # runs only while this gate is open (vectors/gate.py); None: always

    @property
    def node(self) -> str:
        return f"{self.site}-{self.layer}"


@dataclass(frozen=True)
class SteeringPlan:
    ops: tuple[PlannedOp, ...] = ()
    label: str = "unsteered"
    summary: tuple[dict[str, Any], ...] = field(default=())  # one JSON-able line per vector used

    @property
    def empty(self) -> bool:
        return not self.ops

    def describe(self) -> list[dict[str, Any]]:
        return [dict(item) for item in self.summary]

    @property
    def gates(self) -> tuple[Gate, ...]:
        """The plan's distinct gates (by key), in first-use order."""
        seen: dict[str, Gate] = {}
        for op in self.ops:
            if op.gate is not None:
                seen.setdefault(op.gate.key, op.gate)
        return tuple(seen.values())


UNSTEERED = SteeringPlan()


@dataclass(frozen=True)
class VectorUse:
    """One vector in a plan: how strongly, where and on which tokens."""

    vector: SteeringVector
    scale: float
    layers: tuple[int, ...] | None = None  # None = every layer the vector has
    op: SteeringOp | None = None  # None = the vector's own op
    scope: Scope = Scope.ALL
    scale_mode: ScaleMode = ScaleMode.RELATIVE
    gate: Gate | None = None  # conditional: only on steps where this gate fires


def build_plan(uses: list[VectorUse], label: str = "") -> SteeringPlan:
    ops: list[PlannedOp] = []
    summary: list[dict[str, Any]] = []
    for use in uses:
        vector = use.vector
        layers = list(use.layers) if use.layers is not None else vector.layers
        missing = sorted(set(layers) - set(vector.layers))
        if missing:
            raise VectorError(f"vector {vector.meta.name!r} has no layers {missing}")
        op = use.op or vector.meta.op
        for layer in layers:
            ops.append(_planned(vector, layer, op, use))
        line: dict[str, Any] = {
            "vector": vector.meta.name,
            "scale": use.scale,
            "scale_mode": str(use.scale_mode),
            "layers": layers,
            "op": str(op),
            "scope": str(use.scope),
            "site": vector.meta.site,
        }
        if use.gate is not None:
            line["when"] = use.gate.describe()
        summary.append(line)
    if not ops:
        return UNSTEERED  # one canonical empty plan: swapping between "no steering"s is free
    return SteeringPlan(tuple(ops), label or "+".join(u.vector.meta.name for u in uses), tuple(summary))


def _planned(vector: SteeringVector, layer: int, op: SteeringOp, use: VectorUse) -> PlannedOp:
    source = f"{vector.meta.name} ×{use.scale:g}"
    if op == SteeringOp.ADD:
        relative = use.scale_mode == ScaleMode.RELATIVE
        push = vector.push(layer, use.scale, relative=relative)
        return PlannedOp(vector.meta.site, layer, op, use.scope, push, 1.0, source, use.gate)
    scale = 1.0 if op == SteeringOp.ABLATE else use.scale
    return PlannedOp(vector.meta.site, layer, op, use.scope, vector.unit(layer), scale, source, use.gate)
