"""Vector files: llama.cpp / repeng control vectors, ds4 directional steering, and Rudder's own format.

llama     GGUF, general.architecture = "controlvector", controlvector.model_hint = <arch>,
          controlvector.layer_count, one f32 tensor `direction.N` of n_embd per layer. llama.cpp adds
          direction.N at block N's output, which is Rudder's layer N: files load unchanged.
          llama-cvector-generator writes the state it captured after block i as direction.{i+1};
          load with `from_cvector_generator=True` to map such a file back to where it was read.
rudder    the llama format plus `rudder.format_version` and `rudder.meta` (the VectorMeta as JSON),
          so `llama-cli --control-vector` still loads it and Rudder restores everything.
ds4       one raw little-endian f32 file of n_layer × n_embd (row = layer; all-zero rows = unused)
          plus a JSON sidecar `<file>.json` whose "format" is "ds4-directional-steering-v1".
          Default op project-out (y -= s·d·(d·y)) at ffn_out. The sidecar's other field names
          (n_layer, n_embd, site, op, scale, model) are Rudder's reading of the format: ds4's source
          could not be consulted here.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from pydantic import ValidationError

from rudder.vectors.vector import ModelIdentity, SteeringOp, SteeringVector, VectorError, VectorMeta

DS4_FORMAT = "ds4-directional-steering-v1"
RUDDER_FORMAT_VERSION = 1
KNOWN_SITES = ("l_out", "ffn_out", "attn_out", "l_last")


class VectorFormat(StrEnum):
    RUDDER = "rudder"
    LLAMA = "llama"
    DS4 = "ds4"


# -- writing -------------------------------------------------------------------------------------------


def _write_gguf(vector: SteeringVector, path: Path, extra_meta: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), "controlvector")
    writer.add_string("controlvector.model_hint", vector.meta.model.architecture)
    writer.add_int32("controlvector.layer_count", len(vector.directions))
    if extra_meta:
        writer.add_uint32("rudder.format_version", RUDDER_FORMAT_VERSION)
        writer.add_string("rudder.meta", vector.meta.model_dump_json())
    for layer, direction in vector.directions.items():
        writer.add_tensor(f"direction.{layer}", np.ascontiguousarray(direction, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _ds4_sidecar(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".json") if path.suffix == ".f32" else path.with_suffix(".json")


def _write_ds4(vector: SteeringVector, path: Path) -> None:
    model = vector.meta.model
    data = np.zeros((model.n_layer, model.n_embd), dtype="<f4")
    for layer, direction in vector.directions.items():
        data[layer] = direction
    path.parent.mkdir(parents=True, exist_ok=True)
    data.tofile(path)
    sidecar = {
        "format": DS4_FORMAT,
        "n_layer": model.n_layer,
        "n_embd": model.n_embd,
        "site": vector.meta.site,
        "op": str(vector.meta.op),
        "scale": 1.0,
        "model": model.name or model.architecture,
        "name": vector.meta.name,
        "description": vector.meta.description,
    }
    _ds4_sidecar(path).write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")


def save_vector(vector: SteeringVector, path: Path, fmt: VectorFormat = VectorFormat.RUDDER) -> None:
    vector.validate(str(path))
    if fmt == VectorFormat.DS4:
        _write_ds4(vector, path)
    else:
        _write_gguf(vector, path, extra_meta=fmt == VectorFormat.RUDDER)


# -- reading -------------------------------------------------------------------------------------------


def _field(reader: gguf.GGUFReader, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None:
        return None
    value = field.parts[field.data[0]]
    if field.types and field.types[0] == gguf.GGUFValueType.STRING:
        return bytes(value).decode("utf-8", errors="replace")
    return value.tolist()[0]


def _open_gguf(path: Path) -> gguf.GGUFReader:
    try:
        return gguf.GGUFReader(str(path))
    except (ValueError, IndexError, KeyError, OSError) as exc:
        raise VectorError(f"{path}: not a readable GGUF control vector (truncated or corrupt: {exc})") from None


def _load_gguf(path: Path, model: ModelIdentity | None, from_cvector_generator: bool) -> SteeringVector:
    reader = _open_gguf(path)
    arch = _field(reader, "general.architecture")
    if arch != "controlvector":
        raise VectorError(f"{path}: general.architecture is {arch!r}, expected 'controlvector' (is this a model?)")
    directions: dict[int, np.ndarray] = {}
    for tensor in reader.tensors:
        if not tensor.name.startswith("direction."):
            continue
        try:
            layer = int(tensor.name.split(".", 1)[1])
        except ValueError:
            raise VectorError(f"{path}: tensor {tensor.name!r} is not named direction.<layer>") from None
        if tensor.tensor_type != gguf.GGMLQuantizationType.F32:
            raise VectorError(f"{path}: {tensor.name} is {tensor.tensor_type.name}, expected F32")
        directions[layer - 1 if from_cvector_generator else layer] = np.array(tensor.data, dtype=np.float32).reshape(-1)
    if not directions:
        raise VectorError(f"{path}: no direction.<layer> tensors")
    widths = {d.shape[0] for d in directions.values()}
    if len(widths) != 1:
        raise VectorError(f"{path}: layers have different n_embd {sorted(widths)}")
    meta = _rudder_meta(path, reader) or _plain_meta(path, reader, directions, model)
    if model is not None and meta.model.n_embd != model.n_embd:
        raise VectorError(f"{path}: n_embd is {meta.model.n_embd}, the loaded model has n_embd {model.n_embd}")
    if from_cvector_generator:
        meta = meta.model_copy(update={"method": "imported:cvector-generator"})
    return _checked(path, meta, directions)


def _checked(path: Path, meta: VectorMeta, directions: dict[int, np.ndarray]) -> SteeringVector:
    try:
        return SteeringVector(meta, directions)
    except VectorError as exc:
        raise VectorError(f"{path}: {exc}") from None


def _rudder_meta(path: Path, reader: gguf.GGUFReader) -> VectorMeta | None:
    raw = _field(reader, "rudder.meta")
    if raw is None:
        return None
    try:
        return VectorMeta.model_validate_json(raw)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise VectorError(f"{path}: rudder.meta {where}: {problem['msg']}") from None


def _plain_meta(
    path: Path, reader: gguf.GGUFReader, directions: dict[int, np.ndarray], model: ModelIdentity | None
) -> VectorMeta:
    hint = _field(reader, "controlvector.model_hint") or "unknown"
    n_embd = next(iter(directions.values())).shape[0]
    if model is not None and model.architecture == hint:
        identity = model.model_copy(update={"n_embd": n_embd})
    else:
        identity = ModelIdentity(architecture=hint, n_embd=n_embd, n_layer=max(directions) + 1)
    return VectorMeta(name=path.stem, model=identity, method="imported:llama")


def _load_ds4(path: Path, model: ModelIdentity | None) -> SteeringVector:
    data_path = path if path.suffix != ".json" else path.with_suffix("")
    sidecar_path = _ds4_sidecar(data_path)
    if not sidecar_path.is_file():
        raise VectorError(f"{data_path}: the ds4 sidecar {sidecar_path.name} is missing")
    try:
        sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise VectorError(f"{sidecar_path}: not valid JSON ({exc.msg})") from None
    if sidecar.get("format") != DS4_FORMAT:
        raise VectorError(f"{sidecar_path}: format is {sidecar.get('format')!r}, expected {DS4_FORMAT!r}")
    n_layer, n_embd = int(sidecar.get("n_layer", 0)), int(sidecar.get("n_embd", 0))
    site, op = sidecar.get("site", "ffn_out"), sidecar.get("op", "project-out")
    if site not in KNOWN_SITES:
        raise VectorError(f"{sidecar_path}: unknown site {site!r}; expected one of {', '.join(KNOWN_SITES)}")
    if op not in {o.value for o in SteeringOp}:
        raise VectorError(
            f"{sidecar_path}: unknown op {op!r}; expected one of {', '.join(o.value for o in SteeringOp)}"
        )
    size = data_path.stat().st_size if data_path.is_file() else -1
    if size != n_layer * n_embd * 4:
        raise VectorError(
            f"{data_path}: {size} bytes, expected n_layer × n_embd × 4 = {n_layer} × {n_embd} × 4 (truncated?)"
        )
    if model is not None and n_embd != model.n_embd:
        raise VectorError(f"{data_path}: n_embd is {n_embd}, the loaded model has n_embd {model.n_embd}")
    rows = np.fromfile(data_path, dtype="<f4").reshape(n_layer, n_embd)
    directions = {i: row.astype(np.float32) for i, row in enumerate(rows) if np.any(row)}
    if model is not None and model.n_layer == n_layer:
        identity = model
    else:
        identity = ModelIdentity(
            architecture="unknown", name=str(sidecar.get("model", "")), n_embd=n_embd, n_layer=n_layer
        )
    meta = VectorMeta(
        name=str(sidecar.get("name") or data_path.stem),
        description=str(sidecar.get("description", "")),
        model=identity,
        site=site,
        op=SteeringOp(op),
        method="imported:ds4",
    )
    return _checked(data_path, meta, directions)


def load_vector(
    path: Path, *, model: ModelIdentity | None = None, from_cvector_generator: bool = False
) -> SteeringVector:
    """Load any supported vector file; errors name the file and what was expected."""
    path = Path(path)
    if not path.exists():
        raise VectorError(f"vector file not found: {path}")
    if path.suffix in (".f32", ".json"):
        vector = _load_ds4(path, model)
    else:
        with path.open("rb") as handle:
            magic = handle.read(4)
        if magic != b"GGUF":
            raise VectorError(f"{path}: not a vector file (expected a GGUF control vector or a ds4 .f32 + .json)")
        vector = _load_gguf(path, model, from_cvector_generator)
    if model is not None:
        vector.check_model(model, source=str(path))
    return vector
