"""A mode on one model: its library vectors are that model's, and so are their calibrated scales.

A mode names vectors (`vector = "terse"`); which file that is depends on the model loaded. `bind_mode`
resolves every library name for the model: a `scale = "calibrated"` entry takes the scale (and, unless
the mode gives them, the layers) from the card of *this model's* vector. A vector the model has no file
for, or whose card has no calibration for a "calibrated" entry, is left out: the mode runs prompt-led
(its addendum, sampling and tool policy still apply) and `notice` says so in one line, naming the command
that builds it. A vector named by path is the mode author's explicit choice: a problem with it stays an
error (the resolver's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rudder.modes.calibrated import NEGATIVE
from rudder.modes.mode import Mode, VectorSpec, parse_layers

if TYPE_CHECKING:
    from rudder.vectors.files.card import Calibration

Locate = Callable[[str], Path | None]  # a library name -> this model's vector file, or None


def is_library_name(ref: str) -> bool:
    return not ("/" in ref or ref.endswith((".gguf", ".f32", ".json")))


@dataclass
class Binding:
    """`mode` with this model's scales (its `notice` says what runs prompt-led); `missing[name]` = why that
    vector is left out."""

    mode: Mode
    missing: dict[str, str] = field(default_factory=dict)


def notice_for(name: str, missing: dict[str, str]) -> str | None:
    """One line for the CLI, the TUI and ACP; None when every vector of the mode is there."""
    if not missing:
        return None
    absent = [vector for vector, why in missing.items() if why == "absent"]
    uncalibrated = [vector for vector, why in missing.items() if why != "absent"]
    parts = []
    if absent:
        parts.append(
            f"no {' or '.join(absent)} vector for this model yet — `rudder vectors build --only {','.join(absent)}`"
        )
    if uncalibrated:
        parts.append(
            f"{' and '.join(uncalibrated)} not calibrated for this model — "
            f"`rudder vectors build --only {','.join(uncalibrated)}`"
        )
    return f"{name}: {'; '.join(parts)} (runs prompt-led)"


def bind_mode(mode: Mode, locate: Locate) -> Binding:
    """The mode as it runs on the model `locate` searches (idempotent: a bound mode binds to itself)."""
    missing: dict[str, str] = {}
    calibrations: dict[tuple[str, bool], Calibration | None] = {}

    def calibration(path: Path, ref: str, negative: bool) -> Calibration | None:
        from rudder.vectors.files.card import load_card  # the card (pydantic) only when a mode names a card scale

        if (ref, negative) not in calibrations:
            card = load_card(path)
            calibrations[(ref, negative)] = card.negative_calibration if negative else card.calibration
        return calibrations[(ref, negative)]

    def bind(spec: VectorSpec) -> VectorSpec | None:
        refs = [spec.vector, *([spec.when.axis] if spec.when is not None else [])]
        for ref in refs:
            if is_library_name(ref) and locate(ref) is None:
                missing.setdefault(ref, "absent")
                return None
        if spec.calibrated is None or not is_library_name(spec.vector):
            return spec  # a number, or a file's card (read relative to the mode file when it was parsed)
        path = locate(spec.vector)
        assert path is not None
        found = calibration(path, spec.vector, spec.calibrated == NEGATIVE)
        if found is None:
            missing.setdefault(spec.vector, "uncalibrated")
            return None
        layers = parse_layers(found.layers) if spec.layers_from_card else spec.layers
        return spec.model_copy(update={"scale": found.scale, "layers": layers, "calibrated": None})

    def bind_all(specs: list[VectorSpec]) -> list[VectorSpec]:
        return [bound for bound in map(bind, specs) if bound is not None]

    steps = {
        kind: o.model_copy(update={"vectors": bind_all(o.vectors)}) if o.vectors is not None else o
        for kind, o in mode.steps.items()
    }
    bound = mode.model_copy(update={"vectors": bind_all(mode.vectors), "steps": steps})
    bound.notice = notice_for(mode.name, missing) or mode.notice  # a bound mode keeps what its binding found
    bound.source = mode.source
    return Binding(bound, missing)


def vector_status(mode: Mode, locate: Locate) -> list[str]:
    """Per vector the mode names, what the model has: `terse ×0.09 @10-15`, `terse: not calibrated`,
    `terse: none (build it)`, or the path a mode names directly (what `rudder modes list` shows)."""
    binding = bind_mode(mode, locate)
    bound = {spec.vector: spec for spec in binding.mode.vectors}
    bound.update({s.vector: s for o in binding.mode.steps.values() for s in (o.vectors or [])})
    out = []
    for name in mode.vector_names():
        why = binding.missing.get(name)
        if why == "absent":
            out.append(f"{name}: none (rudder vectors build --only {name})")
        elif why is not None:
            out.append(f"{name}: not calibrated")
        elif not is_library_name(name):
            out.append(f"{name}: file")
        elif name in bound:
            spec = bound[name]
            layers = "all" if spec.layers is None else _span(spec.layers)
            out.append(f"{name} ×{spec.scale:g} @{layers}" if spec.scale else f"{name}: calibrated to 0 (unused)")
    return out


def _span(layers: tuple[int, ...]) -> str:
    from rudder.util.layers import layer_spans

    return layer_spans(list(layers))
