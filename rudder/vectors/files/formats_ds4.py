"""ds4 directional steering files (antirez/ds4, dir-steering/), read and written as ds4 does.

`dir-steering/tools/build_direction.py` writes two siblings, NAME.json and NAME.f32:
    NAME.f32   headerless float32 (native = little-endian), n_layer rows of n_embd; row i is layer i
               (ds4 dumps `<component>-<i>` and applies row i at layer i: no offset). ds4 writes every
               layer; an all-zero row steers nothing.
    NAME.json  {"format": "ds4-directional-steering-v1", "shape": [n_layer, n_embd],
               "component": "ffn_out" | "attn_out", "model": <model path>, "note": ..., plus
               provenance (thinking, pair_normalize, orthogonalize_control_mean, good_file, bad_file)}
ds4 applies `y = y - scale * d * dot(d, y)` to the component's output (the block writer, before the
residual add), at ffn_out unless told otherwise: Rudder's project-out op. The runtime loads only the
.f32; the JSON is provenance, so Rudder adds its own object `"rudder": {"format_version", "layers",
"meta"}` there for an exact round trip, as other ds4 tools add their own fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rudder.util.files import write_atomically
from rudder.vectors.files.formats_common import (
    RUDDER_FORMAT_VERSION,
    finish,
    meta_as_json_object,
    parse_meta,
    require_file,
)
from rudder.vectors.vector import ModelIdentity, SteeringOp, SteeringVector, VectorError, VectorMeta

DS4_FORMAT = "ds4-directional-steering-v1"
DS4_COMPONENTS = ("ffn_out", "attn_out")  # build_direction.py --component choices
DS4_NOTE = "runtime positive scale suppresses this direction; negative scale amplifies it"
_DS4_SUFFIXES = (".f32", ".json")


def ds4_paths(path: Path) -> tuple[Path, Path]:
    """(NAME.f32, NAME.json) for either of them, as build_direction.py pairs them (`with_suffix`)."""
    path = Path(path)
    if path.suffix not in _DS4_SUFFIXES:
        raise VectorError(f"{path}: a ds4 vector is NAME.f32 with its sidecar NAME.json, not {path.suffix or 'no'!r}")
    return path.with_suffix(".f32"), path.with_suffix(".json")


# -- writing -------------------------------------------------------------------------------------------


def save_ds4(vector: SteeringVector, path: Path) -> None:
    """Write NAME.f32 (every layer, zero rows where the vector has none) and NAME.json."""
    data_path, sidecar_path = ds4_paths(path)
    meta = vector.meta
    vector.validate(str(data_path))
    if meta.op == SteeringOp.ADD:
        raise VectorError(
            f"{data_path}: ds4 only projects directions out (y -= s·d·(d·y)); an additive vector "
            "would be misapplied there. Save it in the rudder or llama format"
        )
    if meta.site not in DS4_COMPONENTS:
        raise VectorError(f"{data_path}: ds4 steers only {' or '.join(DS4_COMPONENTS)}, not site {meta.site!r}")
    rows = np.zeros((meta.model.n_layer, meta.model.n_embd), dtype="<f4")
    for layer, direction in vector.directions.items():
        rows[layer] = direction
    sidecar = {
        "format": DS4_FORMAT,
        "shape": [meta.model.n_layer, meta.model.n_embd],
        "component": meta.site,
        "method": meta.method,
        "model": meta.model.name or meta.model.architecture,
        "note": DS4_NOTE,
        "rudder": {"format_version": RUDDER_FORMAT_VERSION, "layers": vector.layers, "meta": meta_as_json_object(meta)},
    }
    write_atomically(data_path, lambda target: rows.tofile(target))
    text = json.dumps(sidecar, indent=2, ensure_ascii=False) + "\n"
    write_atomically(sidecar_path, lambda target: target.write_text(text, encoding="utf-8"))


# -- reading -------------------------------------------------------------------------------------------


def load_ds4(path: Path, *, model: ModelIdentity | None = None) -> SteeringVector:
    """A ds4 vector from NAME.f32 or NAME.json (the other is found beside it). Op project-out, site
    = the sidecar's component (ffn_out when absent, ds4's default); identity from `model` if given."""
    data_path, sidecar_path = ds4_paths(path)
    if not sidecar_path.is_file():
        raise VectorError(f"{data_path}: the ds4 sidecar {sidecar_path.name} is missing (expected next to it)")
    require_file(data_path, "ds4 direction file")
    sidecar = _read_sidecar(sidecar_path)
    n_layer, n_embd = _shape(sidecar_path, sidecar)
    site = sidecar.get("component", "ffn_out")
    if site not in DS4_COMPONENTS:
        raise VectorError(
            f"{sidecar_path}: unknown site (component) {site!r}; ds4 steers {' or '.join(DS4_COMPONENTS)}"
        )
    size = data_path.stat().st_size
    if size != n_layer * n_embd * 4:
        raise VectorError(
            f"{data_path}: {size} bytes, expected n_layer × n_embd × 4 = {n_layer} × {n_embd} × 4 = "
            f"{n_layer * n_embd * 4} (truncated, or the sidecar's shape is wrong)"
        )
    rows = np.fromfile(data_path, dtype="<f4").reshape(n_layer, n_embd).astype(np.float32)
    extension = sidecar.get("rudder")
    if extension is not None:
        meta, layers = _rudder_extension(sidecar_path, extension, site, (n_layer, n_embd))
    else:
        meta, layers = _foreign_meta(data_path, sidecar, site, (n_layer, n_embd), model), []
    nonzero = [i for i in range(n_layer) if np.any(rows[i])]  # ds4 writes all layers; zero rows do nothing
    return finish(data_path, meta, {i: rows[i] for i in sorted({*layers, *nonzero})}, model)


def _read_sidecar(path: Path) -> dict[str, Any]:
    try:
        sidecar = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise VectorError(f"{path}: not a ds4 sidecar: not valid JSON ({exc})") from None
    if not isinstance(sidecar, dict) or sidecar.get("format") != DS4_FORMAT:
        found = sidecar.get("format") if isinstance(sidecar, dict) else type(sidecar).__name__
        raise VectorError(f"{path}: format is {found!r}, expected {DS4_FORMAT!r}")
    return sidecar


def _shape(path: Path, sidecar: dict[str, Any]) -> tuple[int, int]:
    shape = sidecar.get("shape")
    valid = isinstance(shape, list) and len(shape) == 2 and all(isinstance(n, int) and n > 0 for n in shape)
    if not valid:
        raise VectorError(f"{path}: shape is {shape!r}, expected [n_layer, n_embd]")
    return shape[0], shape[1]


def _rudder_extension(path: Path, extension: Any, site: str, shape: tuple[int, int]) -> tuple[VectorMeta, list[int]]:
    """Rudder's own object in the sidecar; it must agree with the ds4 fields ds4 itself acts on."""
    if not isinstance(extension, dict) or extension.get("format_version") != RUDDER_FORMAT_VERSION:
        raise VectorError(f"{path}: rudder.format_version is not {RUDDER_FORMAT_VERSION}")
    meta = parse_meta(extension.get("meta", {}), f"{path}: rudder.meta")
    if (meta.model.n_layer, meta.model.n_embd) != shape:
        raise VectorError(
            f"{path}: shape {list(shape)} disagrees with rudder.meta (n_layer {meta.model.n_layer}, "
            f"n_embd {meta.model.n_embd})"
        )
    if meta.site != site:
        raise VectorError(f"{path}: component {site!r} disagrees with rudder.meta site {meta.site!r}")
    layers = extension.get("layers", [])
    if not isinstance(layers, list) or not all(isinstance(n, int) and 0 <= n < shape[0] for n in layers):
        raise VectorError(f"{path}: rudder.layers must list layers in 0..{shape[0] - 1}")
    return meta, layers


def _foreign_meta(
    path: Path, sidecar: dict[str, Any], site: str, shape: tuple[int, int], model: ModelIdentity | None
) -> VectorMeta:
    # ds4 records the model only as a file path: the architecture is the loaded model's, or unknown
    identity = ModelIdentity(
        architecture=model.architecture if model is not None else "unknown",
        name=Path(str(sidecar.get("model", ""))).name,
        n_layer=shape[0],
        n_embd=shape[1],
    )
    return VectorMeta(
        name=path.stem,
        description=str(sidecar.get("note", "")),
        model=identity,
        site=site,
        op=SteeringOp.PROJECT_OUT,
        method="imported:ds4",
    )
