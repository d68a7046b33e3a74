"""A mode bound to a loaded model: every (step kind, phase) resolved to a SteeringPlan up front, so a
swap during a run is a dictionary lookup plus the Steerer's table update (well under a millisecond)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rudder.engine.generation import Sampling
from rudder.interfaces import Phase, StepKind
from rudder.modes.mode import Mode, VectorSpec, WhenSpec
from rudder.modes.permodel import bind_mode
from rudder.vectors.files.card import load_card
from rudder.vectors.steering.gate import Gate
from rudder.vectors.steering.plan import UNSTEERED, SteeringPlan, VectorUse, build_plan
from rudder.vectors.vector import SteeringVector, VectorError

VectorResolver = Callable[[str], SteeringVector]


class ActiveMode:
    """Implements the agent's StepPolicy for one mode on one model."""

    def __init__(self, mode: Mode, resolve: VectorResolver) -> None:
        locate = getattr(resolve, "locate", None)  # a library resolver for one model (VectorResolver)
        mode = bind_mode(mode, locate).mode if locate is not None else mode
        # "fast-draft: no terse vector for this model yet — ..." (None when the model has them all): the
        # Session says it once, at the mode's first step
        self.notice: str | None = mode.notice
        self.mode = mode
        self.resolve = resolve  # kept so a rescaled copy (the sliders) resolves vectors the same way
        self.name = mode.name
        self._plans: dict[tuple[StepKind, Phase], SteeringPlan] = {}
        by_specs: dict[tuple[str, ...], SteeringPlan] = {}
        for kind in StepKind:
            specs = mode.vectors_for(kind)
            key = tuple(spec.model_dump_json() for spec in specs)
            if key not in by_specs:  # equal steering on two kinds = one plan object = a free swap
                by_specs[key] = build_plan([_use(spec, resolve) for spec in specs], label=mode.name)
            plan = by_specs[key]
            self._plans[(kind, Phase.THOUGHT)] = plan
            self._plans[(kind, Phase.TOOL_CALL)] = plan if mode.steers_tool_calls(kind) else UNSTEERED
        self.vector_sources: dict[str, Path] = dict(getattr(resolve, "sources", {}))

    def plan(self, kind: StepKind, phase: Phase) -> SteeringPlan:
        return self._plans[(kind, phase)]

    def sampling(self, kind: StepKind, base: Sampling) -> Sampling:
        return self.mode.sampling_for(kind, base)

    def addendum(self, kind: StepKind) -> str:
        return self.mode.addendum_for(kind)

    def read_only(self, kind: StepKind) -> bool:
        return self.mode.read_only_for(kind)

    @property
    def test_before_finish(self) -> bool:
        return self.mode.test_before_finish


def _use(spec: VectorSpec, resolve: VectorResolver) -> VectorUse:
    return VectorUse(
        vector=resolve(spec.vector),
        scale=spec.scale,
        layers=spec.layers,
        op=spec.op,
        scope=spec.scope,
        scale_mode=spec.scale_mode,
        gate=_gate(spec.when, resolve) if spec.when is not None else None,
    )


def _gate(when: WhenSpec, resolve: VectorResolver) -> Gate:
    """The gate a `when` describes; "calibrated" thresholds and the default layer come from the axis card."""
    axis = resolve(when.axis)
    source = getattr(resolve, "sources", {}).get(when.axis)
    card = load_card(source) if source is not None else None
    calibrated = card.gate if card is not None else None
    value = when.above if when.above is not None else when.below
    probe = card.runs.probe_layer if card is not None and card.runs is not None else None
    default_layer = probe if probe is not None else max(axis.layers)
    if value == "calibrated":  # the calibrated threshold belongs to the layer it was calibrated at
        if calibrated is None:
            raise VectorError(f"gate on {when.axis!r}: its card has no calibrated gate (run rudder vectors gate)")
        value, default_layer = calibrated.threshold, calibrated.layer
    layer = when.layer if when.layer is not None else default_layer
    if layer not in axis.layers:
        raise VectorError(f"gate on {when.axis!r}: the axis has no layer {layer} (it has {axis.layers})")
    return Gate(
        axis=axis.meta.name,
        node=f"{axis.meta.site}-{layer}",
        direction=axis.unit(layer).astype("float32"),
        threshold=float(value),
        above=when.above is not None,
        every=when.every,
    )
