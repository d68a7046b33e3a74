"""The layer rules that import-linter cannot see: what merely importing a package loads."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module", ["rudder.modes.registry", "rudder.modes.active", "rudder.tools.base", "rudder.config", "rudder.cli"]
)
def test_importing_does_not_load_llama_cpp_or_the_hook(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "loaded = [m for m in ('llama_cpp', 'rudder.engine.hook', 'rudder.engine._hook') if m in sys.modules]; "
        "print(','.join(loaded))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"importing {module} loaded {out}"
