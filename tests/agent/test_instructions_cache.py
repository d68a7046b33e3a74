"""AGENTS.md text is part of the prompt's stable prefix: the persistent prompt cache keeps it between runs,
and a changed AGENTS.md is never served from the cache (the real model, a private cache directory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudder.agent.config import AgentConfig
from rudder.agent.session import Session
from rudder.engine.batch import common_length
from rudder.modes.active import ActiveMode
from rudder.modes.registry import get_mode
from rudder.tools.base import Workspace
from tests.helpers import make_repo

pytestmark = pytest.mark.slow


def prompt(engine, repo: Path) -> tuple[list[int], int]:
    """The first step's prompt tokens and the length of its stable prefix, as the session's query makes them."""
    session = Session(engine, Workspace(repo), ActiveMode(get_mode("neutral"), None), config=AgentConfig(examples=0))  # type: ignore[arg-type]
    session.run_setup("add a docstring to app.py")
    conversation = session.conversation
    assert conversation is not None and "Project instructions" in conversation.system
    messages = conversation.messages()
    stable = engine.format_chat(messages[: conversation.stable_messages], add_generation_prompt=False)
    tokens = engine.tokenize(engine.format_chat(messages))
    return tokens, common_length(engine.tokenize(stable), tokens)


def test_a_changed_agents_md_misses_the_cache(cached, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"app.py": "x = 1\n", "AGENTS.md": "Indent with four spaces.\n"})
    tokens, stable = prompt(cached, repo)
    cached.reset()
    cached.prefill(tokens, stable=stable)
    assert cached.restored == 0  # the first run evaluates it and saves the prefix
    cached.reset()
    cached.prefill(tokens, stable=stable)
    assert cached.restored == stable  # the same instructions: the whole prefix comes from the cache

    (repo / "AGENTS.md").write_text("Indent with tabs.\n")
    changed, changed_stable = prompt(cached, repo)
    differs = common_length(tokens, changed)
    assert differs < changed_stable  # the instructions are inside the stable prefix
    cached.reset()
    cached.prefill(changed, stable=changed_stable)
    assert cached.restored <= differs  # nothing from the old instructions on is restored
