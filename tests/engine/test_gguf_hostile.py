"""Hostile GGUF headers: every reader of vector and model headers fails with Rudder's own error, never with a
ZeroDivisionError, an OSError from a huge seek, a MemoryError or a numpy error."""

from __future__ import annotations

import contextlib
import re
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rudder.engine.gguf_header import GGUFHeaderError, read_gguf_header
from rudder.engine.model_file import ModelLoadError, check_gguf
from rudder.vectors.files.formats import load_vector, model_identity_from_gguf, save_vector
from rudder.vectors.files.summary import summarize
from rudder.vectors.vector import VectorError
from tests.vectors.format_samples import make_vector

U32, U64, STR, ARR = 4, 10, 8, 9


def gguf_string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def kv(key: str, value_type: int, payload: bytes) -> bytes:
    return gguf_string(key) + struct.pack("<I", value_type) + payload


def header(kvs: list[bytes], tensors: list[bytes] = (), version: int = 3, pad_to: int = 100) -> bytes:  # type: ignore[assignment]
    data = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(tensors)
    return data.ljust(pad_to, b"\0")


def tensor(name: str, dims: tuple[int, ...], ggml_type: int = 0, offset: int = 0) -> bytes:
    return gguf_string(name) + struct.pack(f"<I{len(dims)}QIQ", len(dims), *dims, ggml_type, offset)


ARCH = kv("general.architecture", STR, gguf_string("controlvector"))
HOSTILE = {
    # the 100-byte file: ZeroDivisionError on dce5c46
    "alignment-zero": header([ARCH, kv("general.alignment", U32, struct.pack("<I", 0))]),
    "alignment-three": header([ARCH, kv("general.alignment", U32, struct.pack("<I", 3))]),
    "alignment-string": header([ARCH, kv("general.alignment", STR, gguf_string("32"))]),
    # the array of 2**60 items: OSError (a seek past any file) on dce5c46
    "array-2^60": header([ARCH, kv("tokens", ARR, struct.pack("<IQ", U32, 1 << 60))]),
    "array-of-strings-2^60": header([ARCH, kv("tokens", ARR, struct.pack("<IQ", STR, 1 << 60))]),
    "array-unknown-type": header([ARCH, kv("tokens", ARR, struct.pack("<IQ", 99, 1))]),
    "nested-arrays": header([ARCH, kv("deep", ARR, struct.pack("<IQ", ARR, 1) + struct.pack("<IQ", ARR, 1) * 6)]),
    "string-2^63": header([ARCH, kv("general.name", STR, struct.pack("<Q", 1 << 63))]),
    "key-2^40": header([struct.pack("<Q", 1 << 40)]),
    "n_kv-2^62": b"GGUF" + struct.pack("<IQQ", 3, 0, 1 << 62) + b"\0" * 80,
    "n_tensors-2^62": b"GGUF" + struct.pack("<IQQ", 3, 1 << 62, 0) + b"\0" * 80,
    "version-1": header([ARCH], version=1),
    "unknown-value-type": header([ARCH, kv("x", 77, b"\0" * 8)]),
    "duplicate-key": header([ARCH, ARCH]),
    "dims-1000": header([ARCH], [tensor("direction.1", ())[:-16] + struct.pack("<I", 1000)]),
    "tensor-past-the-end": header([ARCH], [tensor("direction.1", (1 << 40,))]),
    "tensor-dims-overflow": header([ARCH], [tensor("direction.1", (1 << 63, 1 << 63, 1 << 63, 1 << 63))]),
    "tensor-misaligned": header([ARCH], [tensor("direction.1", (1,), offset=3)], pad_to=200),
    "duplicate-tensor": header(
        [ARCH], [tensor("direction.1", (1,)), tensor("direction.1", (1,), offset=32)], pad_to=300
    ),
    "truncated": header([ARCH], pad_to=0)[:-5],
    "empty": b"",
}


@pytest.fixture
def real_vector(tmp_path: Path) -> bytes:
    """A real small Rudder vector GGUF, as `rudder vectors extract --save` writes one."""
    save_vector(make_vector(), tmp_path / "real.gguf")
    return (tmp_path / "real.gguf").read_bytes()


def only_rudders_errors(path: Path) -> None:
    """Each reader of a GGUF header either works or raises its own Rudder error."""
    for read, own_error in (
        (read_gguf_header, GGUFHeaderError),
        (load_vector, VectorError),
        (model_identity_from_gguf, VectorError),
        (check_gguf, ModelLoadError),
    ):
        with contextlib.suppress(own_error):
            read(path)
    summarize(path)  # a library scan: None for anything it cannot summarise, never an exception


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_hostile_header_gets_one_clear_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.gguf"
    path.write_bytes(HOSTILE[name])
    with pytest.raises(GGUFHeaderError):
        read_gguf_header(path)
    with pytest.raises(VectorError, match=re.escape(f"{name}.gguf: ")):
        load_vector(path)
    with pytest.raises(ModelLoadError, match=re.escape(f"{name}.gguf")):
        check_gguf(path)
    assert summarize(path) is None


def test_every_truncation_of_a_real_vector(tmp_path: Path, real_vector: bytes) -> None:
    path = tmp_path / "cut.gguf"
    for end in range(len(real_vector)):
        path.write_bytes(real_vector[:end])
        with pytest.raises(VectorError):
            load_vector(path)
        with pytest.raises(GGUFHeaderError):
            read_gguf_header(path)
        assert summarize(path) is None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_mutations_of_a_real_vector_raise_only_rudders_errors(
    tmp_path: Path, real_vector: bytes, data: st.DataObject
) -> None:
    mutated = bytearray(real_vector)
    header_end = min(len(mutated), 1200)  # the metadata and tensor infos: where a flip changes the parse
    for _ in range(data.draw(st.integers(1, 8), label="flips")):
        position = data.draw(st.integers(0, header_end - 1), label="position")
        mutated[position] = data.draw(st.integers(0, 255), label="byte")
    if data.draw(st.booleans(), label="big number"):  # a count, length or offset set to something huge
        position = data.draw(st.integers(0, header_end - 8), label="at")
        mutated[position : position + 8] = struct.pack("<Q", data.draw(st.integers(0, 2**64 - 1), label="n"))
    path = tmp_path / "mutated.gguf"
    path.write_bytes(bytes(mutated))
    only_rudders_errors(path)
