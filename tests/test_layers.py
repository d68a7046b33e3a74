"""The layer rules that import-linter cannot see: what merely importing a package loads."""

from __future__ import annotations

import subprocess
import sys

import pytest

LIGHT = [
    "rudder.modes.registry",
    "rudder.modes.active",
    "rudder.tools.base",
    "rudder.config",
    "rudder.cli",
    # front ends: the TUI's pieces that show a replay, the ACP updates, the A/B parent and a worker before
    # its first sample (the engine loads through engine/factory.py when it is needed, not on import)
    "rudder.ui",
    "rudder.ui.messages",
    "rudder.ui.replay",
    "rudder.acp",
    "rudder.acp.updates",
    "rudder.ab.runner",
    "rudder.ab.worker",
    "rudder.ab.sample",
]


@pytest.mark.parametrize("module", LIGHT)
def test_importing_does_not_load_llama_cpp_or_the_hook(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "loaded = [m for m in ('llama_cpp', 'rudder.engine.hook', 'rudder.engine._hook') if m in sys.modules]; "
        "print(','.join(loaded))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"importing {module} loaded {out}"
