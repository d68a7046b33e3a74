"""Vector files: read and write llama.cpp / repeng control vectors, ds4 directional steering, and Rudder's
own format, and tell which model a GGUF is.

    format   files                       carries                                   module
    rudder   NAME.gguf (control vector)  everything: meta and data round-trip      formats_gguf
    llama    NAME.gguf (control vector)  directions + model_hint (+ GLP op/site)   formats_gguf
    ds4      NAME.f32 + NAME.json        directions + component (+ Rudder meta)    formats_ds4

Every loader refuses a bad file with one VectorError naming the file and what was expected; given the
loaded model's identity it also refuses a vector made for another model (SteeringVector.check_model).
"""

from __future__ import annotations

import errno
from pathlib import Path

from rudder.engine.gguf_header import GGUFHeaderError, model_identity, read_gguf_header
from rudder.vectors.files.formats_common import KNOWN_SITES, require_file
from rudder.vectors.files.formats_ds4 import DS4_FORMAT, load_ds4, save_ds4
from rudder.vectors.files.formats_gguf import control_vector_header, load_llama, load_rudder, save_llama, save_rudder
from rudder.vectors.kinds import VectorFormat
from rudder.vectors.vector import ModelIdentity, SteeringVector, VectorError

__all__ = [
    "DS4_FORMAT",
    "KNOWN_SITES",
    "VectorFormat",
    "detect_format",
    "load_ds4",
    "load_llama",
    "load_rudder",
    "load_vector",
    "model_identity_from_gguf",
    "save_ds4",
    "save_llama",
    "save_rudder",
    "save_vector",
]

_DS4_SUFFIXES = (".f32", ".json")


def model_identity_from_gguf(path: Path) -> ModelIdentity:
    """Architecture, name, n_embd, n_layer and layout hash of a model GGUF (~0.1 s for 100 MB).

    The layout hash is sha256 over the architecture and the sorted (tensor name, shape) pairs, not the
    tensor types, so every quantisation of one model matches. It is the engine's own computation
    (gguf_header.model_identity), so identities from here and from a loaded engine compare equal.
    gguf.GGUFReader is not used: it decodes every metadata array and takes ~2 s on the 49k-token vocab.
    """
    path = Path(path)
    require_file(path, "model file")
    try:
        identity = model_identity(read_gguf_header(path))
    except GGUFHeaderError as exc:
        raise VectorError(f"{path}: {exc}; expected a GGUF model") from None
    if identity.architecture == "controlvector":
        raise VectorError(f"{path}: is a control vector, not a model")
    if identity.n_embd <= 0 or identity.n_layer <= 0:
        raise VectorError(
            f"{path}: no {identity.architecture}.embedding_length / block_count (n_embd {identity.n_embd}, "
            f"n_layer {identity.n_layer}); expected a GGUF model"
        )
    return identity


def detect_format(path: Path) -> VectorFormat:
    """By extension for ds4 (its .f32 has no header), by content for GGUF."""
    path = Path(path)
    if path.suffix in _DS4_SUFFIXES:
        return VectorFormat.DS4
    require_file(path)
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != b"GGUF":
        raise VectorError(
            f"{path}: not a vector file (expected a GGUF control vector, or a ds4 NAME.f32 with NAME.json); "
            f"it starts with {magic!r}"
        )
    is_rudder = "rudder.meta" in control_vector_header(path).metadata
    return VectorFormat.RUDDER if is_rudder else VectorFormat.LLAMA


def load_vector(
    path: Path, *, model: ModelIdentity | None = None, from_cvector_generator: bool = False
) -> SteeringVector:
    """Load any supported vector file. Given `model` (the loaded model's identity), plain files take
    their missing identity from it and every file is checked against it.

    `from_cvector_generator=True` is for files written by llama-cvector-generator (see load_llama)."""
    path = Path(path)
    if not path.exists() and path.suffix not in _DS4_SUFFIXES:
        raise VectorError(f"vector file not found: {path}")
    fmt = detect_format(path)
    if from_cvector_generator and fmt != VectorFormat.LLAMA:
        raise VectorError(f"{path}: is a {fmt} vector; only plain control vectors come from cvector-generator")
    if fmt == VectorFormat.DS4:
        return load_ds4(path, model=model)
    if fmt == VectorFormat.RUDDER:
        return load_rudder(path, model=model)
    return load_llama(path, model=model, from_cvector_generator=from_cvector_generator)


def save_vector(vector: SteeringVector, path: Path, format: VectorFormat | str | None = None) -> None:
    """Write `vector` as `format`; None picks ds4 for a .f32/.json path, else rudder."""
    path = Path(path)
    try:
        _save(vector, path, VectorFormat(format) if format is not None else _format_for(path))
    except OSError as exc:
        raise VectorError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _save(vector: SteeringVector, path: Path, fmt: VectorFormat) -> None:
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "it is a directory")
    if fmt == VectorFormat.DS4:
        save_ds4(vector, path)
        return
    if path.suffix in _DS4_SUFFIXES:
        raise VectorError(f"{path}: a {fmt} vector is a GGUF file; {path.suffix} would be read as ds4")
    if fmt == VectorFormat.RUDDER:
        save_rudder(vector, path)
    else:
        save_llama(vector, path)


def _format_for(path: Path) -> VectorFormat:
    return VectorFormat.DS4 if path.suffix in _DS4_SUFFIXES else VectorFormat.RUDDER
