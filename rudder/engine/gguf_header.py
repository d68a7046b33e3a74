"""A fast reader for a GGUF file's header: scalar metadata and the tensor layout, no tensor data.

`gguf.GGUFReader` materialises every metadata array (a 49k-token vocabulary takes it ~3 s here); the
engine only needs a few scalars and the tensor names and shapes, which this reads in milliseconds.
It also catches truncated files: the header must parse and the tensors must fit inside the file.
It imports neither numpy nor the gguf package (a vector's header is read at start-up by `vectors show`).
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from rudder.engine.identity import ModelIdentity

# GGUF value types -> struct format (None: string / array, handled apart)
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9
_ALIGNMENT_KEY = "general.alignment"
# ggml type -> (values per block, bytes per block) for the common types, as gguf.constants.GGML_QUANT_SIZES has
# them (tests/engine/test_gguf_sizes.py compares): reading a Q4/Q8/K-quant model's header (`rudder modes list`
# shows what the model has) then needs no numpy. Other types ask gguf.
_PLAIN_SIZES = {
    0: (1, 4), 1: (1, 2), 30: (1, 2),  # F32, F16, BF16
    2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 40),  # Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),  # Q2_K..Q8_K
}  # fmt: skip


def _block_size(ggml_type: int) -> tuple[int, int] | None:
    if ggml_type in _PLAIN_SIZES:
        return _PLAIN_SIZES[ggml_type]
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType  # numpy: only for quantised tensors

    try:
        return GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
    except (ValueError, KeyError):
        return None


class GGUFHeaderError(ValueError):
    """The file is not a well-formed GGUF header; the message says what is wrong."""


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


_MAX_DIMS = 4  # GGML_MAX_DIMS: llama.cpp refuses more
_MAX_NESTING = 4  # arrays of arrays: the format allows them, no real file nests deeper
_MIN_KV_BYTES = 8 + 4 + 1  # key length, value type, the smallest value
_MIN_TENSOR_BYTES = 8 + 4 + 4 + 8  # name length, n_dims, type, offset
_MAX_STRING = 1 << 26  # 64 MiB: a chat template or vocabulary entry is far smaller


_Arrays = dict[str, tuple[int, int, int]]  # key -> (item type, count, file offset)


class _Reader:
    """Reads a GGUF header, checking every count and length against the bytes left in the file before it
    reads, seeks or allocates anything, so a hostile header fails with GGUFHeaderError, never with a
    MemoryError, an OSError from a huge seek or a ZeroDivisionError."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle, self.size = handle, size

    @property
    def left(self) -> int:
        return self.size - self.handle.tell()

    def read(self, fmt: str) -> Any:
        size = struct.calcsize("<" + fmt)
        data = self.handle.read(size)
        if len(data) != size:
            raise GGUFHeaderError("the file ends inside its header (truncated?)")
        return struct.unpack("<" + fmt, data)[0]

    def skip(self, nbytes: int, what: str) -> None:
        if nbytes > self.left:
            raise GGUFHeaderError(
                f"{what} needs {nbytes} bytes but the file has {self.left} left (truncated or corrupt)"
            )
        self.handle.seek(nbytes, 1)

    def string(self, what: str = "a string", decode: bool = True) -> str:
        """A length-prefixed string; GGUF strings are UTF-8, and a key or value that is not is refused (gguf's
        own reader would fail on it later). Array items are skipped undecoded (`decode=False`): vocabularies
        may hold byte fragments, and nothing here reads them."""
        length = self.read("Q")
        if length > min(self.left, _MAX_STRING):
            raise GGUFHeaderError(f"{what} claims {length} bytes but the file has {self.left} left (corrupt header?)")
        if not decode:
            self.handle.seek(length, 1)
            return ""
        try:
            return self.handle.read(length).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GGUFHeaderError(f"{what} is not valid UTF-8 (byte {exc.start}; corrupt header?)") from None

    def value(
        self, value_type: int, key: str, arrays: dict[str, tuple[int, int, int]] | None = None, depth: int = 0
    ) -> Any:
        if value_type in _SCALARS:
            return self.read(_SCALARS[value_type])
        if value_type == _STRING:
            return self.string(f"the value of {key}", decode=depth == 0)
        if value_type != _ARRAY:
            raise GGUFHeaderError(f"{key}: unknown metadata value type {value_type} (corrupt header?)")
        if depth >= _MAX_NESTING:
            raise GGUFHeaderError(f"{key}: arrays nested more than {_MAX_NESTING} deep (corrupt header?)")
        item_type, count = self.read("I"), self.read("Q")
        if item_type not in _SCALARS and item_type not in (_STRING, _ARRAY):
            raise GGUFHeaderError(f"{key}: unknown array item type {item_type} (corrupt header?)")
        item_bytes = struct.calcsize("<" + _SCALARS[item_type]) if item_type in _SCALARS else 8  # a length at least
        if count * item_bytes > self.left:
            raise GGUFHeaderError(
                f"{key}: an array of {count} items needs at least {count * item_bytes} bytes but the file has "
                f"{self.left} left (corrupt header?)"
            )
        if arrays is not None:
            arrays[key] = (item_type, count, self.handle.tell())
        if item_type in _SCALARS:
            self.skip(item_bytes * count, key)
        elif item_type == _STRING:
            self._skip_strings(count, key)
        else:
            for _ in range(count):
                self.value(item_type, key, depth=depth + 1)
        return count

    def _skip_strings(self, count: int, key: str) -> None:
        """Step over an array of strings (a vocabulary: ~100k of them) without decoding any."""
        handle, left = self.handle, self.left
        for _ in range(count):
            data = handle.read(8)
            if len(data) != 8:
                raise GGUFHeaderError("the file ends inside its header (truncated?)")
            (length,) = struct.unpack("<Q", data)
            left -= 8 + length
            if left < 0:
                raise GGUFHeaderError(f"{key}: a string runs past the end of the file (truncated or corrupt?)")
            handle.seek(length, 1)


def read_gguf_header(path: Path) -> GGUFHeader:
    """The header of the GGUF file at `path`; GGUFHeaderError (naming what is wrong) for any file that is not
    a well-formed GGUF v2/v3 file whose tensors fit inside it, whatever its bytes are."""
    try:
        with path.open("rb") as handle:
            return _read(handle, os.fstat(handle.fileno()).st_size)
    except OSError as exc:
        raise GGUFHeaderError(f"cannot read the file: {exc.strerror or exc}") from None


def _read(handle: BinaryIO, size: int) -> GGUFHeader:
    reader = _Reader(handle, size)
    if handle.read(4) != b"GGUF":
        raise GGUFHeaderError("not a GGUF file (bad magic)")
    header = GGUFHeader(version=reader.read("I"))
    if header.version not in (2, 3):
        raise GGUFHeaderError(f"unsupported GGUF version {header.version} (expected 2 or 3)")
    n_tensors, n_kv = reader.read("Q"), reader.read("Q")
    if n_kv * _MIN_KV_BYTES + n_tensors * _MIN_TENSOR_BYTES > reader.left:
        raise GGUFHeaderError(
            f"the file ends inside its header: it claims {n_kv} metadata keys and {n_tensors} tensors, more "
            f"than its {size} bytes can hold (truncated or corrupt?)"
        )
    for _ in range(n_kv):
        key = reader.string("a metadata key")
        if key in header.metadata:
            raise GGUFHeaderError(f"metadata key {key!r} appears twice (corrupt header?)")
        header.metadata[key] = reader.value(reader.read("I"), key, header.arrays)
    alignment = header.metadata.get(_ALIGNMENT_KEY, 32)
    if type(alignment) is not int or alignment <= 0 or alignment & (alignment - 1):
        raise GGUFHeaderError(f"{_ALIGNMENT_KEY} is {alignment!r}; expected a power of two")
    names: set[str] = set()
    for _ in range(n_tensors):
        header.tensors.append(_tensor(reader, alignment, names))
    header.data_start = -(-handle.tell() // alignment) * alignment
    if header.tensors:
        last = max(header.tensors, key=lambda t: t.offset + t.nbytes)
        if header.data_start + last.offset + last.nbytes > size:
            raise GGUFHeaderError(f"tensor data is missing: {last.name} ends past the file's {size} bytes (truncated?)")
    return header


def _tensor(reader: _Reader, alignment: int, names: set[str]) -> TensorInfo:
    name = reader.string("a tensor name")
    if name in names:
        raise GGUFHeaderError(f"tensor {name!r} appears twice (corrupt header?)")
    names.add(name)
    n_dims = reader.read("I")
    if n_dims > _MAX_DIMS:
        raise GGUFHeaderError(f"tensor {name!r} has {n_dims} dimensions; GGUF allows at most {_MAX_DIMS}")
    dims = tuple(reader.read("Q") for _ in range(n_dims))
    tensor = TensorInfo(name, dims, reader.read("I"), reader.read("Q"))
    if tensor.offset % alignment:
        raise GGUFHeaderError(f"tensor {name!r} starts at offset {tensor.offset}, not a multiple of {alignment}")
    sizes = _block_size(tensor.ggml_type)
    if sizes is not None and math.prod(dims) % sizes[0]:
        raise GGUFHeaderError(f"tensor {name!r}: {math.prod(dims)} values do not fill whole blocks of {sizes[0]}")
    return tensor


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
