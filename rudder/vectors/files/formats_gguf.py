"""Control-vector GGUF files: llama.cpp / repeng / cvector-generator / GLP, and Rudder's own format.

The container, as llama.cpp reads it (common/common.cpp `common_control_vector_load_one`):
    general.architecture = "controlvector", controlvector.model_hint = <arch>, controlvector.layer_count,
    one 1-D F32 tensor `direction.N` of n_embd per layer. llama.cpp refuses the whole file if any tensor
    is not `direction.<int>`, is `direction.0`, is not F32 or not 1-D, or the widths differ. It never
    reads model_hint or layer_count. `llama_adapter_cvec` adds direction.N at the output of block N,
    which is Rudder's layer N: these files load unchanged.
repeng (`ControlVector.export_gguf`) writes the same container with the Hugging Face layer index, which
    is also the block index (hidden_states[layer + 1] is block `layer`'s output), but its model_hint is
    the Hugging Face `model_type` ("mistral" for a model llama.cpp calls "llama").
llama-cvector-generator captures `l_out-il` and names it `direction.{il+1}` (mean.hpp / pca.hpp), so
    llama.cpp applies it one block after where it was read. `from_cvector_generator=True` maps
    direction.N back to layer N-1.
GLP (ds4 / weightless spec/GLP.md) adds `glp.mode` ("add" | "project") and `glp.hook_point`; a reader
    must refuse a mode or hook it does not know. Read here; written when a vector is not add-at-l_out.
Rudder = the container + `rudder.format_version` + `rudder.meta` (VectorMeta as JSON). llama.cpp has no
    slot for layer 0, so Rudder keeps it in the f32 array key `rudder.direction.0`, not as a tensor that
    would make llama.cpp refuse the file.
Layer count: cvector-generator and repeng write one direction per steerable layer (1..n_layer-1), so
    `layer_count` = n_layer - 1 for a full file. Rudder writes n_layer - 1 whatever layers it stores, and
    a plain file read without a model is taken to be for max(layer_count + 1, highest direction + 1) layers.
    A llama file Rudder exports also carries `rudder.exported_meta` (the VectorMeta, which llama.cpp
    ignores), so model identity and residual norms survive rudder -> llama -> rudder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gguf
import numpy as np

from rudder.engine.gguf_header import GGUFHeader, GGUFHeaderError, read_gguf_header
from rudder.util.files import write_atomically
from rudder.vectors.files.formats_common import (
    LAYER0_KEY,
    RUDDER_FORMAT_VERSION,
    check_site,
    finish,
    parse_meta,
    require_file,
)
from rudder.vectors.vector import ModelIdentity, SteeringOp, SteeringVector, VectorError, VectorMeta

ARCH = "controlvector"
EXPORTED_META_KEY = "rudder.exported_meta"  # in llama files Rudder writes; not a Rudder-format marker
# repeng writes Hugging Face model_type names; these differ from llama.cpp's architecture names
_HF_MODEL_TYPES = {"mistral": "llama", "mixtral": "llama", "gpt_neox": "gptneox", "qwen2_moe": "qwen2moe"}
_GLP_MODES = {"add": SteeringOp.ADD, "project": SteeringOp.PROJECT_OUT}
_GLP_HOOKS = {
    "residual_stream_post_layer": "l_out",
    "ffn_out_pre_residual": "ffn_out",
    "attn_out_pre_residual": "attn_out",
}


# -- writing -------------------------------------------------------------------------------------------


def save_llama(vector: SteeringVector, path: Path) -> None:
    """A plain control vector for llama.cpp / repeng (no Rudder metadata beyond the name)."""
    path = Path(path)
    if 0 in vector.directions:
        raise VectorError(
            f"{path}: llama.cpp refuses a control vector with direction.0 (it cannot steer layer 0); "
            "drop layer 0 (select_layers) or save in the rudder format"
        )
    if vector.meta.site not in _GLP_HOOKS.values():
        raise VectorError(
            f"{path}: a control vector can state site l_out, ffn_out or attn_out, not {vector.meta.site!r}; "
            "save in the rudder format"
        )
    _write(vector, path, rudder_meta=False)


def save_rudder(vector: SteeringVector, path: Path) -> None:
    """Rudder's format: loads in `llama-cli --control-vector` and restores meta and data exactly."""
    _write(vector, Path(path), rudder_meta=True)


def _write(vector: SteeringVector, path: Path, rudder_meta: bool) -> None:
    vector.validate(str(path))
    check_site(vector.meta.site, str(path))
    tensors = {layer: d for layer, d in vector.directions.items() if layer != 0}

    def write(target: Path) -> None:
        writer = gguf.GGUFWriter(str(target), ARCH)
        writer.add_name(vector.meta.name)
        writer.add_string(f"{ARCH}.model_hint", vector.meta.model.architecture)
        # the model's steerable layers, as cvector-generator writes it for a full file (see the module doc)
        writer.add_int32(f"{ARCH}.layer_count", vector.meta.model.n_layer - 1)
        _add_glp_keys(writer, vector.meta)
        if rudder_meta:
            writer.add_uint32("rudder.format_version", RUDDER_FORMAT_VERSION)
            writer.add_string("rudder.meta", vector.meta.model_dump_json())
            if 0 in vector.directions:
                writer.add_array(LAYER0_KEY, [float(x) for x in vector.directions[0]])
        else:
            writer.add_string(EXPORTED_META_KEY, vector.meta.model_dump_json())
        for layer, direction in tensors.items():
            writer.add_tensor(f"direction.{layer}", np.ascontiguousarray(direction, dtype=np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()

    write_atomically(path, write)


def _add_glp_keys(writer: gguf.GGUFWriter, meta: VectorMeta) -> None:
    """State op and site the GLP way unless the vector is llama.cpp's own add-at-l_out."""
    if meta.op == SteeringOp.ADD and meta.site == "l_out":
        return
    writer.add_uint32("glp.spec_version", 1)
    writer.add_string("glp.mode", "add" if meta.op == SteeringOp.ADD else "project")  # ablate = project at 1
    hook = next((name for name, site in _GLP_HOOKS.items() if site == meta.site), None)
    if hook:
        writer.add_string("glp.hook_point", hook)


# -- reading -------------------------------------------------------------------------------------------


def control_vector_header(path: Path) -> GGUFHeader:
    """The header of a GGUF control vector, or one clear error (missing, not GGUF, truncated, a model).

    Read with Rudder's header reader first: GGUFReader reports a truncated file as a numpy reshape
    error and takes seconds to decode a model's vocabulary before we could say it is not a vector."""
    require_file(path)
    try:
        header = read_gguf_header(path)
    except GGUFHeaderError as exc:
        raise VectorError(f"{path}: {exc}; expected a GGUF control vector") from None
    if header.architecture != ARCH:
        raise VectorError(
            f"{path}: general.architecture is {header.architecture!r}, expected {ARCH!r} (is this a model file?)"
        )
    return header


def open_control_vector(path: Path) -> gguf.GGUFReader:
    control_vector_header(path)
    try:
        return gguf.GGUFReader(str(path))
    except (ValueError, IndexError, KeyError, OSError) as exc:
        raise VectorError(f"{path}: not a readable GGUF control vector (corrupt: {exc})") from None


def field(reader: gguf.GGUFReader, key: str) -> Any:
    found = reader.fields.get(key)
    return None if found is None else found.contents()


def load_llama(
    path: Path, *, model: ModelIdentity | None = None, from_cvector_generator: bool = False
) -> SteeringVector:
    """A plain control vector (llama.cpp, repeng, GLP; Rudder files too, ignoring `rudder.*`).

    direction.N is applied at block N, as llama.cpp does. `from_cvector_generator=True`: the file came
    from llama-cvector-generator, which read block il's output and wrote it as direction.{il+1}; it is
    shifted back to layer il (so direction.1 becomes layer 0, which Rudder's hook can steer).
    A file Rudder exported keeps its metadata in `rudder.exported_meta`. Other files carry no model
    identity: it comes from `model` when given (n_embd checked against it), else n_layer is
    max(layer_count + 1, highest direction + 1) and the layout is unknown ("").
    """
    path = Path(path)
    reader = open_control_vector(path)
    site, op = _glp_site_op(path, reader)  # first: a rank-k GLP file is refused for its version, not its names
    by_index = _directions(path, reader)
    if from_cvector_generator and 0 in by_index:
        raise VectorError(f"{path}: has direction.0, which llama-cvector-generator never writes")
    exported = field(reader, EXPORTED_META_KEY)
    if exported is not None and not from_cvector_generator:
        meta = parse_meta(exported, f"{path}: {EXPORTED_META_KEY}")
        if (meta.site, meta.op) != (site, op) and not (meta.op == SteeringOp.ABLATE and op == SteeringOp.PROJECT_OUT):
            raise VectorError(
                f"{path}: {EXPORTED_META_KEY} says site {meta.site}, op {meta.op}; the GLP keys say {site}, {op}"
            )
        norms = {layer: norm for layer, norm in meta.layer_norms.items() if layer in by_index}
        return finish(path, meta.model_copy(update={"layer_norms": norms}), by_index, model)
    n_embd = next(iter(by_index.values())).shape[0]
    identity = _plain_identity(field(reader, f"{ARCH}.model_hint"), n_embd, _n_layer(reader, by_index), model)
    shift = 1 if from_cvector_generator else 0
    meta = VectorMeta(
        name=field(reader, "general.name") or path.stem,
        model=identity,
        site=site,
        op=op,
        method="imported:cvector-generator" if from_cvector_generator else "imported:llama",
    )
    return finish(path, meta, {index - shift: d for index, d in by_index.items()}, model)


def load_rudder(path: Path, *, model: ModelIdentity | None = None) -> SteeringVector:
    """A Rudder vector file: the metadata is `rudder.meta`, the layers are the file's, unshifted."""
    path = Path(path)
    reader = open_control_vector(path)
    if "rudder.meta" not in reader.fields:
        raise VectorError(f"{path}: has no rudder.meta, so it is not a Rudder vector; load it as a llama one")
    version = field(reader, "rudder.format_version")
    if version != RUDDER_FORMAT_VERSION:
        raise VectorError(
            f"{path}: rudder.format_version is {version!r}; this Rudder reads version {RUDDER_FORMAT_VERSION}"
        )
    meta = parse_meta(field(reader, "rudder.meta"), f"{path}: rudder.meta")
    directions = _directions(path, reader, allow_empty=LAYER0_KEY in reader.fields)
    if LAYER0_KEY in reader.fields:
        directions[0] = np.array(field(reader, LAYER0_KEY), dtype=np.float32)
    return finish(path, meta, directions, model)


def _directions(path: Path, reader: gguf.GGUFReader, allow_empty: bool = False) -> dict[int, np.ndarray]:
    """`direction.N` tensors by N, held to llama.cpp's rules (1-D F32, one width for all)."""
    directions: dict[int, np.ndarray] = {}
    for tensor in reader.tensors:
        prefix, _, index = tensor.name.partition(".")
        if prefix != "direction" or not index.isdigit():
            raise VectorError(f"{path}: tensor {tensor.name!r} is not named direction.<layer> (llama.cpp refuses it)")
        if tensor.tensor_type != gguf.GGMLQuantizationType.F32:
            raise VectorError(f"{path}: {tensor.name} is {tensor.tensor_type.name}, expected F32")
        if len(tensor.shape) != 1:
            raise VectorError(f"{path}: {tensor.name} has shape {list(tensor.shape)}, expected one row of n_embd")
        directions[int(index)] = np.array(tensor.data, dtype=np.float32)  # a copy: the memmap closes
    if not directions and not allow_empty:
        raise VectorError(f"{path}: has no direction.<layer> tensors")
    widths = {layer: d.shape[0] for layer, d in directions.items()}
    if len(set(widths.values())) > 1:
        listed = ", ".join(f"direction.{layer}: {width}" for layer, width in sorted(widths.items()))
        raise VectorError(f"{path}: layers have different n_embd ({listed}); every layer must have the same")
    return directions


def _n_layer(reader: gguf.GGUFReader, by_index: dict[int, np.ndarray]) -> int:
    """The model's layer count as far as a plain file tells: layer_count + 1 (see the module doc), never
    fewer than the highest direction + 1."""
    count = field(reader, f"{ARCH}.layer_count")
    stated = count + 1 if isinstance(count, int) and count > 0 else 0
    return max(stated, max(by_index) + 1)


def _plain_identity(hint: str | None, n_embd: int, n_layer: int, model: ModelIdentity | None) -> ModelIdentity:
    architecture = _HF_MODEL_TYPES.get(hint, hint) if hint else None
    if model is not None:
        # the file says only the architecture and n_embd; the rest is the loaded model's, so
        # check_model compares what the file does say
        return model.model_copy(update={"architecture": architecture or model.architecture, "n_embd": n_embd})
    return ModelIdentity(architecture=architecture or "unknown", n_embd=n_embd, n_layer=n_layer)


def _glp_site_op(path: Path, reader: gguf.GGUFReader) -> tuple[str, SteeringOp]:
    """GLP's op and site; a reader must refuse values it does not implement rather than add."""
    version = field(reader, "glp.spec_version")
    if version not in (None, 1):
        raise VectorError(f"{path}: glp.spec_version is {version}; Rudder reads GLP version 1 (rank-1) files")
    mode = field(reader, "glp.mode") or "add"
    if mode not in _GLP_MODES:
        raise VectorError(f"{path}: unknown op glp.mode {mode!r}; expected one of {', '.join(_GLP_MODES)}")
    hook = field(reader, "glp.hook_point") or "residual_stream_post_layer"
    if hook not in _GLP_HOOKS:
        raise VectorError(f"{path}: unknown site glp.hook_point {hook!r}; expected one of {', '.join(_GLP_HOOKS)}")
    return _GLP_HOOKS[hook], _GLP_MODES[mode]
