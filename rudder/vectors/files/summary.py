"""A Rudder vector file's metadata and per-layer sizes, read without numpy or the gguf package.

`rudder vectors show` and the library listing need only a vector's `rudder.meta` and the length of each
direction. Reading those with Rudder's GGUF header reader and `array` keeps start-up free of numpy and
gguf (they cost more than the rest of such a command). The checks are `load_rudder`'s: a control-vector
GGUF with a valid `rudder.meta` of this format version, `direction.N` tensors (1-D F32, n_embd wide,
layers inside the model, finite values) and the optional layer-0 array. Anything else, or any other
format, gives None: the caller then loads the file in full (`formats.load_vector`), which accepts the
other formats and words the error for a bad file.
"""

from __future__ import annotations

import math
import operator
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rudder.engine.gguf_header import GGUFHeaderError, read_gguf_header
from rudder.vectors.files.formats_common import LAYER0_KEY, RUDDER_FORMAT_VERSION, parse_meta
from rudder.vectors.meta import VectorError, VectorMeta

_F32 = 0  # ggml type
_GGUF_F32 = 6  # GGUF metadata value type


@dataclass(frozen=True)
class VectorSummary:
    path: Path
    meta: VectorMeta
    sizes: dict[int, float]  # layer -> |d|, by layer


_CACHE: dict[tuple[str, int, int, int], VectorSummary | None] = {}  # (path, inode, mtime, size): read once


def summarize(path: Path) -> VectorSummary | None:
    """The summary of a well-formed Rudder-format vector file, else None (load it in full instead)."""
    path = Path(path)
    if path.suffix in (".f32", ".json") or not path.is_file():
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path.resolve()), stat.st_ino, stat.st_mtime_ns, stat.st_size)  # a rewrite is a new key
    if key not in _CACHE:
        _CACHE[key] = _read(path)
    return _CACHE[key]


def _read(path: Path) -> VectorSummary | None:
    try:
        header = read_gguf_header(path)
    except (GGUFHeaderError, OSError):
        return None
    metadata = header.metadata
    if header.architecture != "controlvector" or metadata.get("rudder.format_version") != RUDDER_FORMAT_VERSION:
        return None
    raw = metadata.get("rudder.meta")
    if not isinstance(raw, str):
        return None
    try:
        meta = parse_meta(raw, str(path))
    except VectorError:
        return None
    n_embd, n_layer = meta.model.n_embd, meta.model.n_layer
    sizes: dict[int, float] = {}
    try:
        with path.open("rb") as handle:
            for tensor in header.tensors:
                prefix, _, index = tensor.name.partition(".")
                if prefix != "direction" or not index.isdigit() or tensor.ggml_type != _F32:
                    return None
                if tensor.shape != (n_embd,):
                    return None
                sizes[int(index)] = _size(handle, header.data_start + tensor.offset, n_embd)
            if LAYER0_KEY in header.arrays:
                item_type, count, offset = header.arrays[LAYER0_KEY]
                if item_type != _GGUF_F32 or count != n_embd or 0 in sizes:
                    return None
                sizes[0] = _size(handle, offset, n_embd)
    except (OSError, ValueError):
        return None
    if not sizes or any(not 0 <= layer < n_layer or not math.isfinite(size) for layer, size in sizes.items()):
        return None
    return VectorSummary(path, meta, dict(sorted(sizes.items())))


def _size(handle: BinaryIO, offset: int, n: int) -> float:
    handle.seek(offset)
    values = array("f")
    values.frombytes(handle.read(4 * n))  # ValueError when the file ends early
    if len(values) != n:
        raise ValueError("short read")
    if sys.byteorder != "little":
        values.byteswap()
    return math.sqrt(sum(map(operator.mul, values, values)))  # NaN or inf stays so (float64: no overflow)
