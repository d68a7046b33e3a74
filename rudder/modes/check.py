"""What `rudder modes check` adds to validation: the vectors a mode names exist, and so do its layers.

Checked without loading a model: a vector's metadata says which model it was made for (n_layer) and
which layers it has. Problems read like validation errors: `file:line: key: what was expected`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rudder.modes.mode import Mode, VectorSpec
from rudder.modes.registry import line_of
from rudder.util.layers import layer_spans
from rudder.vectors.files.formats import load_vector
from rudder.vectors.files.library import library_dirs, list_library
from rudder.vectors.vector import SteeringVector, VectorError


def _specs(mode: Mode) -> Iterator[tuple[tuple[Any, ...], VectorSpec]]:
    for index, spec in enumerate(mode.vectors):
        yield ("vectors", index), spec
    for kind, override in mode.steps.items():
        for index, spec in enumerate(override.vectors or []):
            yield ("steps", str(kind), "vectors", index), spec


def _key(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")


def _resolve(ref: str, base_dir: Path | None, repo: Path | None) -> SteeringVector:
    """As the runtime resolves a mode's vector (VectorResolver), for whichever model the vector is for."""
    if "/" in ref or ref.endswith((".gguf", ".f32", ".json")):
        path = Path(ref).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return load_vector(path)
    entries = list_library(repo)
    for entry in entries:
        if entry.name == ref:
            return load_vector(entry.path)
    names = ", ".join(sorted({e.name for e in entries})) or "none"
    dirs = ", ".join(str(d) for d in library_dirs(repo))
    raise VectorError(f"no vector named {ref!r} in the library ({dirs}); available: {names}")


def _where(source: Path, text: str, loc: tuple[Any, ...]) -> str:
    line = line_of(text, loc)
    return f"{source}:{line}: {_key(loc)}" if line else f"{source}: {_key(loc)}"


def check_mode_vectors(mode: Mode, text: str, repo: Path | None = None) -> list[str]:
    """Each problem as `file:line: key: message`; [] when every vector and layer resolves."""
    source = mode.source or Path("mode")
    base_dir = mode.source.parent if mode.source else None
    problems = []
    for loc, spec in _specs(mode):
        try:
            vector = _resolve(spec.vector, base_dir, repo)
        except VectorError as exc:
            problems.append(f"{_where(source, text, (*loc, 'vector'))}: {exc}")
            continue
        missing = sorted(set(spec.layers or ()) - set(vector.layers))
        if missing:
            noun, verb = ("layers", "are") if len(missing) > 1 else ("layer", "is")
            model = vector.meta.model
            problems.append(
                f"{_where(source, text, (*loc, 'layers'))}: {noun} "
                f"{layer_spans(missing)} {verb} not in vector {vector.meta.name!r} (made for n_layer={model.n_layer}, "
                f"{model.name or model.architecture}; it has layers {layer_spans(vector.layers)})"
            )
    return problems
