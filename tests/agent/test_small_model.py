"""The small-model rules through a real Session on the embedded SmolLM2 (no scripted engine): the compact
toolset, the closest worked examples, and the call constraints holding in real greedy generation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rudder.agent.aids import examples
from rudder.agent.factory import open_session
from rudder.config import load_config
from rudder.tools.toolbox import COMPACT
from tests.helpers import make_repo


def _session(engine, root: Path, max_steps: int):
    config = load_config(root)
    agent = config.agent.model_copy(update={"max_steps": max_steps, "approval": "auto"})
    sampling = config.sampling.model_copy(update={"temperature": 0.0})
    engine.reset()
    return open_session(engine, root, agent, sampling, mode="neutral")


@pytest.mark.slow
def test_small_model_gets_compact_tools_and_the_closest_example(engine, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_repo(root, {"config.py": "NAME = 'fetcher'\nMAX_RETRIES = 3\nTIMEOUT = 30\n"})
    session = _session(engine, root, 1)
    assert sorted(session.tools) == sorted(COMPACT)  # 135M parameters: the compact toolset
    session.run_setup("in config.py, change MAX_RETRIES from 3 to 5")
    assert session.conversation is not None
    shown = [m["content"] for m in session.conversation.example if m["content"].startswith(examples.PREFIX)]
    assert len(shown) == 2 and "change LIMIT from 10 to 20" in shown[-1]  # the closest example, last
    assert "Repository map" not in session.conversation.system  # the task's file is attached instead


@pytest.mark.slow
def test_real_generation_keeps_to_the_constraints(engine, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_repo(root, {"fruits.py": "FRUITS = ['apple', 'banana']\n"})
    session = _session(engine, root, 2)
    session.run("add 'pear' to the FRUITS list in fruits.py")
    first = session.history[0]
    call = json.loads(first.output)
    assert call["thought"].startswith(examples.THOUGHT_START)  # restates the goal, not "Done"
    assert first.tool != "finish" and len(call["thought"]) <= 120
    content = (root / "fruits.py").read_text() if first.tool != "edit_file" else "FRUITS = ['apple', 'banana']\n"
    for step in session.history:
        args = step.arguments or {}
        if step.tool in ("read_file", "edit_file"):
            assert (root / args["path"]).is_file(), args  # only files that exist
        if step.tool == "edit_file":
            assert args["search"] and args["search"] in content, args  # text that is in the file
        if step.tool == "write_file":
            assert not str(args["path"]).startswith(examples.FILE_PREFIX)
