"""A fast reader for a GGUF file's header: scalar metadata and the tensor layout, no tensor data.

`gguf.GGUFReader` materialises every metadata array (a 49k-token vocabulary takes it ~3 s here); the
engine only needs a few scalars and the tensor names and shapes, which this reads in milliseconds.
It also catches truncated files: the header must parse and the tensors must fit inside the file.
It imports neither numpy nor the gguf package (a vector's header is read at start-up by `vectors show`).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from rudder.engine.identity import ModelIdentity

# GGUF value types -> struct format (None: string / array, handled apart)
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9
_ALIGNMENT_KEY = "general.alignment"
_PLAIN_SIZES = {0: (1, 4), 1: (1, 2), 30: (1, 2)}  # F32, F16, BF16: (block, bytes); others ask gguf


def _block_size(ggml_type: int) -> tuple[int, int] | None:
    if ggml_type in _PLAIN_SIZES:
        return _PLAIN_SIZES[ggml_type]
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType  # numpy: only for quantised tensors

    try:
        return GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
    except (ValueError, KeyError):
        return None


class GGUFHeaderError(ValueError):
    pass


@dataclass
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int

    @property
    def nbytes(self) -> int:
        sizes = _block_size(self.ggml_type)
        if sizes is None:
            return 0  # a type this gguf version does not know: skip the size check for it
        block, size = sizes
        count = 1
        for dim in self.shape:
            count *= dim
        return count // block * size


@dataclass
class GGUFHeader:
    version: int
    metadata: dict[str, Any] = field(default_factory=dict)  # scalars and strings; arrays as their length
    tensors: list[TensorInfo] = field(default_factory=list)
    arrays: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # key -> (item type, count, file offset)
    data_start: int = 0  # file offset of the tensor data (tensor offsets count from here)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    def key(self, suffix: str, default: Any = None) -> Any:
        return self.metadata.get(f"{self.architecture}.{suffix}", default)


class _Reader:
    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle

    def read(self, fmt: str) -> Any:
        size = struct.calcsize("<" + fmt)
        data = self.handle.read(size)
        if len(data) != size:
            raise GGUFHeaderError("the file ends inside its header (truncated?)")
        return struct.unpack("<" + fmt, data)[0]

    def string(self) -> str:
        length = self.read("Q")
        if length > 1 << 24:
            raise GGUFHeaderError(f"implausible string length {length} (corrupt header?)")
        data = self.handle.read(length)
        if len(data) != length:
            raise GGUFHeaderError("the file ends inside its header (truncated?)")
        return data.decode("utf-8", errors="replace")

    def value(self, value_type: int, arrays: dict[str, tuple[int, int, int]] | None = None, key: str = "") -> Any:
        if value_type in _SCALARS:
            return self.read(_SCALARS[value_type])
        if value_type == _STRING:
            return self.string()
        if value_type == _ARRAY:
            item_type, count = self.read("I"), self.read("Q")
            if arrays is not None:
                arrays[key] = (item_type, count, self.handle.tell())
            if item_type in _SCALARS:
                self.handle.seek(struct.calcsize("<" + _SCALARS[item_type]) * count, 1)
            else:
                for _ in range(count):
                    self.value(item_type)
            return count
        raise GGUFHeaderError(f"unknown metadata value type {value_type} (corrupt header?)")


def read_gguf_header(path: Path) -> GGUFHeader:
    size = path.stat().st_size
    with path.open("rb") as handle:
        reader = _Reader(handle)
        if handle.read(4) != b"GGUF":
            raise GGUFHeaderError("not a GGUF file (bad magic)")
        header = GGUFHeader(version=reader.read("I"))
        n_tensors, n_kv = reader.read("Q"), reader.read("Q")
        for _ in range(n_kv):
            key = reader.string()
            header.metadata[key] = reader.value(reader.read("I"), header.arrays, key)
        for _ in range(n_tensors):
            name = reader.string()
            dims = tuple(reader.read("Q") for _ in range(reader.read("I")))
            header.tensors.append(TensorInfo(name, dims, reader.read("I"), reader.read("Q")))
        alignment = int(header.metadata.get(_ALIGNMENT_KEY, 32))
        data_start = header.data_start = -(-handle.tell() // alignment) * alignment
    if header.tensors:
        end = max(t.offset + t.nbytes for t in header.tensors)
        if data_start + end > size:
            raise GGUFHeaderError(f"tensor data is missing: the file stops at {size} bytes (truncated?)")
    return header


def model_identity(header: GGUFHeader) -> ModelIdentity:
    """Who a model is, independent of quantisation: the layout hash covers names and shapes, not types."""
    digest = hashlib.sha256(header.architecture.encode())
    for tensor in sorted(header.tensors, key=lambda t: t.name):
        digest.update(f"\n{tensor.name}:{','.join(map(str, tensor.shape))}".encode())
    return ModelIdentity(
        architecture=header.architecture,
        name=str(header.metadata.get("general.name", "")),
        n_embd=int(header.key("embedding_length", 0)),
        n_layer=int(header.key("block_count", 0)),
        layout_hash=digest.hexdigest(),
    )
