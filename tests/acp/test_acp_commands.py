"""Custom commands through ACP: a real `rudder acp` subprocess offers them with `available_commands_update`
(the repository's marked as such) and expands `/name args` in a prompt; driven by the SDK's client."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import acp
import pytest
from acp.schema import AvailableCommandsUpdate
from acp.stdio import spawn_agent_process

from rudder.agent.records import read_trajectory
from tests.acp.test_acp_server import TIMEOUT, EditorClient, _env, _session
from tests.helpers import make_repo

pytestmark = pytest.mark.slow


def test_commands_are_offered_after_session_new_and_expanded_in_a_prompt(tmp_path: Path) -> None:
    repo = tmp_path / "project"
    make_repo(repo, {"README.md": "# Project\n"})
    (repo / ".rudder" / "commands").mkdir(parents=True)
    (repo / ".rudder" / "commands" / "review.md").write_text("---\ndescription: Review the changes\n---\nReview.\n")
    (repo / ".rudder" / "commands" / "undo.md").write_text("a repo command may not replace a built-in\n")
    env = _env(tmp_path, "[agent]\nmax_steps = 1\n")
    user_commands = Path(env["RUDDER_CONFIG_DIR"]) / "commands"
    user_commands.mkdir()
    (user_commands / "explain.md").write_text("---\nargument-hint: FILE\n---\nExplain what $ARGUMENTS does.\n")

    async def main() -> None:
        client = EditorClient()
        async with spawn_agent_process(client, sys.executable, "-m", "rudder", "acp", env=env, cwd=repo) as (conn, _):
            session_id = await _session(conn, repo)
            for _ in range(200):
                offered = [u for u in client.updates if isinstance(u, AvailableCommandsUpdate)]
                if offered:
                    break
                await asyncio.sleep(0.05)
            commands = {c.name: c for c in offered[0].available_commands}
            assert set(commands) == {"explain", "review"}
            assert commands["review"].description == "Review the changes (repo command)"
            assert commands["explain"].input is not None and commands["explain"].input.root.hint == "FILE"
            await conn.prompt(session_id=session_id, prompt=[acp.text_block("/explain README.md")])

        (trajectory,) = (repo / ".git" / "rudder" / "trajectories").glob("*.jsonl")
        run = next(r for r in read_trajectory(trajectory) if r["type"] == "run")
        assert run["task"] == "Explain what README.md does."

    asyncio.run(asyncio.wait_for(main(), 2 * TIMEOUT))  # a model turn on a busy machine
