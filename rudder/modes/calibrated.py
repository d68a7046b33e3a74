"""`scale = "calibrated"` in a mode file: the vector's card says how hard to push, and where.

    [[vectors]]
    vector = "terse"
    scale = "calibrated"      # the card's calibration: its scale, and its layers unless `layers` is given
    # scale = "-calibrated"   # the card's negative_calibration (the other side, e.g. verbose from terse)

The card is the one beside the vector file the name resolves to (a path relative to the mode file, or the
first library vector of that name: user, shipped, then repo, as `rudder vectors show NAME` finds it). So a
recalibrated vector (`rudder vectors calibrate NAME --save-card`) changes every mode that uses it, and the
built-in modes cannot drift from their vectors' cards. Resolved once, when the mode file is read
(`resolve_calibrated`, before the Mode is validated): a `Mode` only ever holds numbers, and a missing card or
calibration is the mode file's error, naming the entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CALIBRATED = "calibrated"
NEGATIVE = "-calibrated"


class CalibrationError(ValueError):
    """A "calibrated" scale the card cannot give; `loc` is the entry's place in the mode file."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def resolve_calibrated(data: dict[str, Any], scales: CardScales) -> dict[str, Any]:
    """The mode file's data with every `scale = "calibrated"` / `"-calibrated"` replaced by the card's scale (and
    its layers where the entry gives none). Entries that are not well-formed are left for validation to name."""
    resolved = dict(data)
    for loc, entries in _vector_lists(data):
        out = list(entries)
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or entry.get("scale") not in (CALIBRATED, NEGATIVE):
                continue
            if not isinstance(entry.get("vector"), str) or not entry["vector"]:
                continue  # the missing vector is the error to report
            try:
                scale, layers = scales(entry["vector"], entry["scale"] == NEGATIVE)
            except ValueError as exc:
                raise CalibrationError((*loc, i), str(exc)) from None
            out[i] = {
                **entry,
                "scale": scale,
                "layers": entry.get("layers", layers),
                "calibrated": entry["scale"],  # a model-bound copy takes its own model's card (modes/permodel.py)
                "layers_from_card": "layers" not in entry,
            }
        _put(resolved, loc, out)
    return resolved


def _vector_lists(data: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], list[Any]]]:
    """Where vector entries are in a mode file: `vectors`, and `steps.KIND.vectors`."""
    if isinstance(data.get("vectors"), list):
        yield ("vectors",), data["vectors"]
    steps = data.get("steps")
    if isinstance(steps, dict):
        for kind, step in steps.items():
            if isinstance(step, dict) and isinstance(step.get("vectors"), list):
                yield ("steps", kind, "vectors"), step["vectors"]


def _put(data: dict[str, Any], loc: tuple[str, ...], value: list[Any]) -> None:
    """Set `data[loc]` copying the dicts on the way, so the caller's parsed TOML is left as it was."""
    if len(loc) == 1:
        data[loc[0]] = value
        return
    data[loc[0]] = inner = dict(data[loc[0]])
    _put(inner, loc[1:], value)


@dataclass
class CardScales:
    """Resolves "calibrated" scales for one mode file (cached per vector)."""

    base_dir: Path | None = None
    repo: Path | None = None
    _cache: dict[tuple[str, bool], tuple[float, str | None]] = field(default_factory=dict)

    def __call__(self, ref: str, negative: bool) -> tuple[float, str | None]:
        """(scale, layers) from the card of vector `ref`; ValueError saying what is missing."""
        key = (ref, negative)
        if key not in self._cache:
            self._cache[key] = self._lookup(ref, negative)
        return self._cache[key]

    def _library_calibration(self, ref: str, negative: bool) -> tuple[float, str | None] | None:
        """A library name is bound to the loaded model's own card when the mode runs (modes/permodel.py); here
        it only needs a value to show: the first card of that name with the calibration, else a placeholder
        (scale 0) when some model has the vector but none calibrated it (binding then leaves it out)."""
        from rudder.vectors.files.card import load_card
        from rudder.vectors.files.library import list_library

        entries = [entry for entry in list_library(self.repo) if entry.name == ref]
        for entry in entries:
            card = load_card(entry.path)
            calibration = card.negative_calibration if negative else card.calibration
            if calibration is not None:
                return calibration.scale, calibration.layers
        return (0.0, None) if len(entries) > 1 else None  # one file: its card's problem is the error to show

    def _lookup(self, ref: str, negative: bool) -> tuple[float, str | None]:
        from rudder.vectors.files.card import card_path, load_card
        from rudder.vectors.files.library import find_vector
        from rudder.vectors.meta import VectorError

        try:
            if "/" in ref or ref.endswith((".gguf", ".f32", ".json")):  # a file, relative to the mode file
                path = Path(ref).expanduser()
                path = path if path.is_absolute() or self.base_dir is None else self.base_dir / path
                if not path.is_file():
                    raise VectorError(f"{path}: no such vector file")
            else:
                path = find_vector(ref, self.repo)
                found = self._library_calibration(ref, negative)
                if found is not None:
                    return found
            card = load_card(path)
        except VectorError as exc:
            raise ValueError(f"scale {NEGATIVE if negative else CALIBRATED!r}: {exc}") from None
        calibration = card.negative_calibration if negative else card.calibration
        if calibration is None:
            which, flag = ("negative calibration", " --negative") if negative else ("calibration", "")
            raise ValueError(
                f"scale {NEGATIVE if negative else CALIBRATED!r}: vector {ref!r} has no {which} in its card "
                f"({card_path(path)}); run `rudder vectors calibrate {ref}{flag} --save-card`, or give a number"
            )
        return calibration.scale, calibration.layers
