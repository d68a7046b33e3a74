"""The import contracts in pyproject.toml hold: a wrong-direction import added to a copy of the package
makes lint-imports fail, naming that import. One copy, every probe at once, two lint-imports runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (module in the copy, new or appended to; what it imports; the contract that must refuse it)
PROBES = [
    ("rudder.engine._probe_up", "rudder.vectors.steering.plan", "one-way layers"),
    ("rudder.modes._probe_up", "rudder.agent.records", "one-way layers"),
    ("rudder.acp._probe_sibling", "rudder.ui.messages", "one-way layers"),
    ("rudder.ab._probe_sibling", "rudder.acp.updates", "one-way layers"),
    ("rudder.tools._probe_engine", "rudder.engine.config", "tools sit beside the stack"),
    ("rudder.tools._probe_acp", "rudder.acp.updates", "tools sit beside the stack"),
    ("rudder.tools._probe_ab", "rudder.ab.stats", "tools sit beside the stack"),
    ("rudder.engine._probe_tools", "rudder.tools.base", "the model stack"),
    ("rudder.vectors._probe_tools", "rudder.tools.base", "the model stack"),
    ("rudder.modes._probe_tools", "rudder.tools.base", "the model stack"),
    ("rudder.interfaces", "rudder.engine.info", "util and interfaces are leaves"),  # appended, TYPE_CHECKING
    ("rudder.util._probe_acp", "rudder.acp.updates", "util and interfaces are leaves"),
    ("rudder.agent._probe_llama", "llama_cpp._internals", "only rudder.engine imports llama_cpp"),
    ("rudder.vectors._probe_llama", "llama_cpp", "only rudder.engine imports llama_cpp"),
    ("rudder.acp._probe_hook", "rudder.engine.hook", "front ends never touch llama.cpp"),
    ("rudder.ui._probe_batch", "rudder.engine.batch", "front ends never touch llama.cpp"),
    ("rudder.ab._probe_engine", "rudder.engine.engine", "front ends never touch llama.cpp"),
    ("rudder.vectors.steering._probe_up", "rudder.vectors.trust.guard", "vectors' rooms"),
    ("rudder.vectors.extraction._probe_up", "rudder.vectors.steering.plan", "vectors' rooms"),
    ("rudder.vectors.files._probe_sibling", "rudder.vectors.extraction.dataset", "vectors' rooms"),
    ("rudder.agent.protocols._probe_up", "rudder.agent.aids.examples", "agent's rooms"),
]


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache", "--config", "pyproject.toml"]
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "1000"}  # the copy's rudder; a contract on one line
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("contracts")
    shutil.copytree(ROOT / "rudder", root / "rudder", ignore=shutil.ignore_patterns("__pycache__", "*.so", "library"))
    shutil.copy(ROOT / "pyproject.toml", root)
    return root


def test_every_contract_refuses_its_wrong_directions(copy: Path) -> None:
    clean = lint_imports(copy)
    assert clean.returncode == 0, clean.stdout[-2000:]  # the copy itself is fine: a failure below is the probe's
    for module, target, _ in PROBES:
        path = (copy / Path(*module.split("."))).with_suffix(".py")
        if path.exists():  # an existing module gets the import under TYPE_CHECKING: such imports count too
            guarded = f"from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import {target}\n"
            path.write_text(f"{path.read_text()}\n{guarded}")
        else:
            path.write_text(f"import {target}\n")
    probed = lint_imports(copy)
    assert probed.returncode != 0
    sections = broken_contracts(probed.stdout)
    for module, target, contract in PROBES:
        shown = target if target.startswith("rudder.") else target.split(".")[0]  # external packages: the top
        refused = [name for name, text in sections.items() if f"{module} -> {shown} " in text]
        assert any(contract in name for name in refused), f"{module} -> {target}: refused by {refused}"


def broken_contracts(report: str) -> dict[str, str]:
    """Contract name -> its part of lint-imports' "Broken contracts" section."""
    lines = report.split("Broken contracts", 1)[1].splitlines()
    sections: dict[str, str] = {}
    name = ""
    for line, underline in zip(lines, [*lines[1:], ""], strict=True):
        if underline and set(underline) == {"-"} and line.strip():
            name = line.strip()
            sections[name] = ""
        elif name:
            sections[name] += line + "\n"
    return sections
