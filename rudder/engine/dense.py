"""Dense weights for capture: read a small quantised model through an F16/BF16 copy of its matrices.

llama.cpp multiplies some quantised types on the CPU one dot product at a time (Q4_1 and Q5_1 have no
tiled kernel), while F16 and BF16 go through its tiled matrix-matrix code. Capture reads thousands of
prompt tokens per extraction, so for those types a dense copy of the weights is much faster. Measured on
this machine (bench/extract_weights.py: 2 threads, AVX512 with BF16, SmolLM2-135M, one 512-token decode,
tok/s): Q4_1 306, Q5_1 275, F16 531, BF16 730; Q4_0 705, Q4_K 565, Q5_0 532, Q6_K 616, Q8_0 598 (those
are read as they are).

Numerically the copy is the same weights: a Q4_1 value d*q+m becomes the F16/BF16 number nearest to
it. What differs is the quantised path's own rounding: llama.cpp rounds activations to 8 bits (Q8_1)
before a Q4_1 product, and the dense path does not. The vectors move by that much: on 1,000 template
pairs, cosine 0.990 at layer 0, 0.995-0.998 at layers 1-12 and 0.9993-0.9995 from layer 13 against
reading the quantised model, far less than the pairs themselves move them (split-half cosine 0.34-0.84
there). `weights = "native"` reads the model as it is (bit-identical to one prompt at a time).

The copy is made once by llama.cpp's own quantiser (`llama_model_quantize`, requantising to F16/BF16)
into the user cache (~/.cache/rudder/weights, or $RUDDER_CACHE_DIR), written under a temporary name
and renamed, keyed by the model file's path, size and modification time.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import platform
import tempfile
from collections import Counter
from pathlib import Path

import llama_cpp

from rudder.engine import CaptureWeights as Weights
from rudder.engine.gguf_header import GGUFHeader, GGUFHeaderError, read_gguf_header
from rudder.util.dirs import user_cache_dir

__all__ = ["DenseWeightsError", "Weights", "choose", "copy_for_capture", "dense_copy"]

# ggml types without a tiled CPU matrix kernel in llama.cpp (no llamafile sgemm, no repack): their
# prompt reading is 2.4-2.7x slower than a BF16 copy here (see the module docstring).
SLOW_TYPES = {3: "Q4_1", 7: "Q5_1"}
# A copy this large is not worth the disk and memory (about a 1B-parameter model in F16).
MAX_COPY_BYTES = 2 << 30
_FTYPES = {"f16": llama_cpp.LLAMA_FTYPE_MOSTLY_F16, "bf16": llama_cpp.LLAMA_FTYPE_MOSTLY_BF16}


class DenseWeightsError(RuntimeError):
    pass


def matrix_type(header: GGUFHeader) -> int | None:
    """The ggml type holding most of the model's 2-D weights (by element count)."""
    counts: Counter[int] = Counter()
    for tensor in header.tensors:
        if len(tensor.shape) == 2 and tensor.name.startswith("blk."):
            counts[tensor.ggml_type] += tensor.shape[0] * tensor.shape[1]
    return counts.most_common(1)[0][0] if counts else None


def native_bf16() -> bool:
    """Whether this llama.cpp build has BF16 arithmetic on this CPU (else BF16 is emulated: use F16)."""
    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    return "AVX512_BF16 = 1" in info or "AMX_BF16 = 1" in info


def choose(weights: Weights, header: GGUFHeader, *, n_params: int, gpu_layers: int) -> tuple[str, str]:
    """(what capture reads: "native", "f16" or "bf16", why) for the asked `weights`."""
    if weights == "native":
        return "native", "asked for"
    if weights in _FTYPES:
        return weights, "asked for"
    kind = matrix_type(header)
    if gpu_layers != 0:
        return "native", "the model runs on a GPU"
    if kind not in SLOW_TYPES:
        return "native", "its matrices have a fast CPU kernel"
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return "native", "the dense copy's gain is measured on x86 CPUs only (ARM has other kernels)"
    if 2 * n_params > MAX_COPY_BYTES:
        return "native", f"an F16 copy would be over {MAX_COPY_BYTES >> 30} GiB"
    dense = "bf16" if native_bf16() else "f16"
    return dense, f"{SLOW_TYPES[kind]} reads one dot product at a time on the CPU; {dense.upper()} is tiled"


def cache_path(model: Path, dense: str) -> Path:
    """Where the dense copy of `model` lives: keyed by its resolved path, size and modification time."""
    model = model.resolve()
    stat = model.stat()
    key = hashlib.sha256(f"{model}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return user_cache_dir() / "weights" / f"{model.stem}.{key}.{dense}.gguf"


def dense_copy(model: Path, dense: str, threads: int) -> Path:
    """The cached F16/BF16 copy of `model`, made now if missing (about a second for a 135M model)."""
    if dense not in _FTYPES:
        raise DenseWeightsError(f"dense weights must be f16 or bf16, not {dense!r}")
    target = cache_path(model, dense)
    if target.is_file():
        try:
            read_gguf_header(target)  # a damaged copy (cut short, overwritten) is made again
            return target
        except (GGUFHeaderError, OSError, ValueError):
            with contextlib.suppress(OSError):
                target.unlink()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(handle)
    except OSError as exc:
        raise DenseWeightsError(f"cannot write the dense weights cache {target.parent}: {exc}") from None
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = _FTYPES[dense]
    params.allow_requantize = True
    params.nthread = threads
    try:
        status = llama_cpp.llama_model_quantize(str(model).encode(), temporary.encode(), ctypes.byref(params))
        if status != 0:
            raise DenseWeightsError(f"llama.cpp could not write a {dense} copy of {model} (status {status})")
        os.replace(temporary, target)  # a reader never sees half a file; two writers leave one whole copy
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    _drop_older_copies(target)
    return target


def copy_for_capture(model: Path, kind: str, threads: int, *, asked_by_name: bool) -> tuple[Path | None, str]:
    """(the dense copy to read, or None for the model's own weights; a note saying why not, or "").

    A copy that cannot be made is an error (DenseWeightsError) only when asked for by name; `auto` then
    reads the model as it is, and the note says why."""
    if kind == "native":
        return None, ""
    try:
        return dense_copy(model, kind, threads), ""
    except DenseWeightsError as exc:
        if asked_by_name:
            raise
        return None, f"reading the model's own weights: {exc}"


def _drop_older_copies(current: Path) -> None:
    """Copies of an earlier version of the same model file (same name, same type) are stale."""
    stem, _key, dense, _suffix = current.name.rsplit(".", 3)
    for other in current.parent.iterdir():
        parts = other.name.rsplit(".", 3)
        if other != current and len(parts) == 4 and (parts[0], parts[2], parts[3]) == (stem, dense, "gguf"):
            with contextlib.suppress(OSError):
                other.unlink()
