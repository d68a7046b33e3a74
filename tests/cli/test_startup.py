"""Quick commands stay quick: `rudder --help`, `modes list` and `vectors show` load none of the heavy
machinery (llama.cpp, the UI, the A/B harness, numpy, gguf, GitPython). A behaviour test, not a timing
one: each command runs as a real `python -m rudder` process and reports what it imported at exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("llama_cpp", "textual", "inspect_ai", "numpy", "gguf", "git", "rudder.engine.engine", "rudder.agent")
PROBE = (
    "import atexit, json, sys\n"
    "atexit.register(lambda: print('MODULES ' + json.dumps(sorted({m.split('.')[0] for m in sys.modules} | "
    "{m for m in sys.modules if m.startswith('rudder.')})), file=sys.stderr))\n"
    "sys.argv = ['rudder', *sys.argv[1:]]\n"
    "import runpy; runpy.run_module('rudder', run_name='__main__')\n"
)


@pytest.mark.parametrize("args", [["--help"], ["modes", "list"], ["vectors", "show", "terse"]], ids=" ".join)
def test_quick_commands_do_not_load_the_heavy_machinery(args: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()  # it did its job
    line = next(line for line in result.stderr.splitlines() if line.startswith("MODULES "))
    loaded = set(json.loads(line.removeprefix("MODULES ")))
    assert not loaded & set(HEAVY), f"rudder {' '.join(args)} imported {sorted(loaded & set(HEAVY))}"
