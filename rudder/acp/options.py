"""Modes and steering sliders as ACP sees them: the session's modes and its config options.

The options always describe the mode the session is in now, as the client chose it (session/set_mode,
the `mode` option) or as a turn switched it: the sliders of a mode's vectors are listed the moment the
mode is chosen, not after its first step, and a mode without vectors lists none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from acp.schema import SessionConfigOptionSelect, SessionConfigSelectOption, SessionMode, SessionModeState

from rudder.modes.registry import load_modes

STRENGTHS = ["0", "0.5", "1", "1.5", "2"]  # steering sliders as select options: multiples of the mode's scale
SLIDER_PREFIX = "steer."


def mode_state(root: Path, current: str) -> SessionModeState:
    modes = load_modes(root)
    return SessionModeState(
        current_mode_id=current,
        available_modes=[
            SessionMode(id=name, name=name, description=m.description or None) for name, m in modes.items()
        ],
    )


def slider_vectors(root: Path, mode: str) -> list[str]:
    """The vectors whose strength a slider sets in `mode` (none for an unknown mode)."""
    found = load_modes(root).get(mode)
    return found.vector_names() if found is not None else []


def config_options(root: Path, mode: str, strengths: dict[str, str]) -> list[Any]:
    modes = load_modes(root)
    options: list[Any] = [
        SessionConfigOptionSelect(
            id="mode",
            name="Mode",
            category="mode",
            type="select",
            current_value=mode,
            options=[
                SessionConfigSelectOption(value=n, name=n, description=m.description or None) for n, m in modes.items()
            ],
        )
    ]
    for vector in slider_vectors(root, mode):
        options.append(
            SessionConfigOptionSelect(
                id=f"{SLIDER_PREFIX}{vector}",
                name=f"Steering: {vector}",
                description=f"strength of the {vector} vector, as a multiple of the mode's scale",
                type="select",
                current_value=strengths.get(vector, "1"),
                options=[SessionConfigSelectOption(value=v, name=f"{v}x") for v in STRENGTHS],
            )
        )
    return options


def last_mode(records: list[dict[str, Any]]) -> str | None:
    """The mode a saved session was last in: the latest turn's start, a switch, or a step (twins and
    rescaled copies reported by their mode's name)."""
    mode = None
    for record in records:
        kind = record.get("type")
        name = record.get("new") if kind == "mode" else record.get("mode") if kind in ("run", "step") else None
        if isinstance(name, str) and name:
            mode = name
    return mode.removesuffix(" (set aside)") if mode else None
