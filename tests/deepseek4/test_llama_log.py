"""llama.cpp's own log lines stay off the terminal unless --verbose (issue 22: a gemma3 model printed
`llama_kv_cache_iswa: using full-size SWA cache (ref: ...)` through `vectors extract`). The tiny deepseek4
model has a sliding-window cache too, so llama.cpp warns the same way for every context Rudder makes.
Real processes: the lines are written by C code to the process's stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
DATASET = Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "datasets" / "terse_verbose.jsonl"


def _rudder(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUDDER_THREADS": "1", "RUDDER_CACHE_DIR": str(tmp_path / "cache"), "NO_COLOR": "1"}
    command = [sys.executable, "-m", "rudder", *args]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_extract_prints_no_llama_cpp_log_lines(tiny_ds4_path: Path, tmp_path: Path) -> None:
    args = ["vectors", "extract", str(DATASET), "--limit", "2", "--layers", "1", "-o", "v.gguf"]
    result = _rudder(tmp_path, *args, "--model", str(tiny_ds4_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "v.gguf").is_file()
    assert "llama_" not in result.stderr and "SWA" not in result.stderr, result.stderr[:2000]


def test_verbose_shows_them(tiny_ds4_path: Path, tmp_path: Path) -> None:
    result = _rudder(tmp_path, "vectors", "sites", "--verbose", "--model", str(tiny_ds4_path))
    assert result.returncode == 0, result.stderr
    assert "llama_kv_cache_iswa" in result.stderr
