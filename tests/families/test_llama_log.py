"""llama.cpp's own log lines stay off the terminal on a gemma3-type model too (its sliding-window cache makes
llama.cpp warn `llama_kv_cache_iswa: using full-size SWA cache` for every context); `--verbose` shows them.
Real processes: the lines are written by C code to the process's stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _rudder(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUDDER_THREADS": "1", "RUDDER_CACHE_DIR": str(tmp_path / "cache"), "NO_COLOR": "1"}
    command = [sys.executable, "-m", "rudder", *args]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_the_swa_cache_warning_reaches_the_terminal_only_with_verbose(tiny_model, tmp_path: Path) -> None:
    model = str(tiny_model("gemma3"))
    quiet = _rudder(tmp_path, "vectors", "sites", "--model", model)
    assert quiet.returncode == 0, quiet.stderr
    assert "l_out" in quiet.stdout and "sa_out" in quiet.stdout
    assert "llama_" not in quiet.stderr and "SWA" not in quiet.stderr, quiet.stderr[:2000]
    verbose = _rudder(tmp_path, "vectors", "sites", "--verbose", "--model", model)
    assert verbose.returncode == 0, verbose.stderr
    assert "llama_kv_cache_iswa: using full-size SWA cache" in verbose.stderr
