"""What real ACP clients found (issue 22), driven through the official SDK's client against a real
`rudder acp` subprocess: failed turns say why, sliders follow the mode at once, a loaded session keeps
its mode, and a cancel does not wait for a permission nobody answers."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import acp
import pytest
from acp.schema import AgentMessageChunk, ClientCapabilities, ConfigOptionUpdate
from acp.stdio import spawn_agent_process

from rudder.agent.config import AgentConfig
from rudder.agent.records import RunSummary, Trajectory
from rudder.agent.session import Session
from rudder.modes.active import ActiveMode
from rudder.modes.registry import get_mode
from rudder.tools.base import Workspace
from tests.acp.test_acp_server import TIMEOUT, EditorClient, _env, _session
from tests.agent.scripted import ScriptedEngine
from tests.agent.test_session import RecordingSteerer, any_vector
from tests.helpers import make_repo

pytestmark = pytest.mark.slow


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_repo(tmp_path / "project", {"README.md": "# Project\n"})
    return tmp_path / "project"


def _spawn(client: Any, repo: Path, env: dict[str, str]) -> Any:
    return spawn_agent_process(client, sys.executable, "-m", "rudder", "acp", env=env, cwd=repo)


def _messages(client: EditorClient) -> str:
    return "".join(u.content.text for u in client.updates if isinstance(u, AgentMessageChunk))


def test_a_prompt_over_the_context_window_ends_with_max_tokens_and_says_why(repo: Path, tmp_path: Path) -> None:
    async def main() -> None:
        client = EditorClient()
        async with _spawn(client, repo, _env(tmp_path, "")) as (conn, _):
            session_id = await _session(conn, repo)
            huge = "Explain this log line by line:\n" + "ERROR 2026-12-07 worker crashed at step 17\n" * 5000
            assert len(huge) > 200_000
            started = time.perf_counter()
            response = await conn.prompt(session_id=session_id, prompt=[acp.text_block(huge)])
            assert response.stop_reason == "max_tokens"
            assert time.perf_counter() - started < 30  # refused up front, not after tokenizing it per step
        assert "context window" in _messages(client) and "tokens" in _messages(client)

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))


def test_sliders_follow_set_mode_at_once_and_a_stale_one_is_refused(repo: Path, tmp_path: Path) -> None:
    async def main() -> None:
        client = EditorClient()
        async with _spawn(client, repo, _env(tmp_path, "")) as (conn, _):
            session_id = await _session(conn, repo)
            await conn.set_session_mode(session_id=session_id, mode_id="fast-draft")
            update = next(u for u in client.updates if isinstance(u, ConfigOptionUpdate))
            assert [o.id for o in update.config_options] == ["mode", "steer.terse"]  # before any turn ran
            assert update.config_options[0].current_value == "fast-draft"
            answer = await conn.set_config_option(config_id="steer.terse", session_id=session_id, value="0.5")
            assert next(o for o in answer.config_options if o.id == "steer.terse").current_value == "0.5"
            client.updates.clear()
            await conn.set_session_mode(session_id=session_id, mode_id="neutral")
            update = next(u for u in client.updates if isinstance(u, ConfigOptionUpdate))
            assert [o.id for o in update.config_options] == ["mode"]
            with pytest.raises(acp.RequestError) as refused:
                await conn.set_config_option(config_id="steer.terse", session_id=session_id, value="1")
            assert "no 'terse' vector" in str(refused.value.data)

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))


def test_a_loaded_session_reports_the_mode_it_ran_in(repo: Path, tmp_path: Path) -> None:
    """The saved session is written by the real Session (on a scripted model: no generation needed)."""
    path = repo / ".git" / "rudder" / "trajectories" / "20261207-120000-000001.jsonl"
    session = Session(
        ScriptedEngine(['{"tool": "finish", "answer": "hello"}']),
        Workspace(repo),
        ActiveMode(get_mode("fast-draft"), any_vector),
        config=AgentConfig(max_steps=2),
        steerer=RecordingSteerer(),
        trajectory=Trajectory(path),
    )
    assert session.run("say hello").status == "finished"

    async def main() -> None:
        client = EditorClient()
        async with _spawn(client, repo, _env(tmp_path, "")) as (conn, _):
            await conn.initialize(protocol_version=acp.PROTOCOL_VERSION, client_capabilities=ClientCapabilities())
            loaded = await conn.load_session(cwd=str(repo), session_id=path.stem, mcp_servers=[])
            assert loaded.modes.current_mode_id == "fast-draft"
            assert [o.id for o in loaded.config_options] == ["mode", "steer.terse"]

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))


class SilentClient(EditorClient):
    """Like Toad: a permission request opens a dialog nobody answers; the user cancels the turn instead."""

    def __init__(self) -> None:
        super().__init__()
        self.cancelled_at: float | None = None

    async def request_permission(self, session_id: str, tool_call: Any, options: Any, **_: Any) -> Any:
        self.permissions.append(tool_call)
        self.cancelled_at = time.perf_counter()
        await self.conn.cancel(session_id=session_id)
        await asyncio.Event().wait()  # never answers


def test_cancel_during_an_unanswered_permission_request_ends_the_turn_within_a_second(
    repo: Path, tmp_path: Path
) -> None:
    async def main() -> None:
        client = SilentClient()
        env = _env(tmp_path, '[agent]\napproval = "ask"\nmax_steps = 4\n')
        async with _spawn(client, repo, env) as (conn, _):
            session_id = await _session(conn, repo)
            response = await conn.prompt(
                session_id=session_id, prompt=[acp.text_block("create notes.txt containing: done")]
            )
            ended = time.perf_counter()
            assert client.permissions, "the model never asked to write (the test needs a permission request)"
            assert response.stop_reason == "cancelled"
            assert client.cancelled_at is not None and ended - client.cancelled_at < 1.0
        assert not (repo / "notes.txt").exists()
        thoughts = "".join(u.content.text for u in client.updates if u.session_update == "agent_thought_chunk")
        assert '"thought"' not in thoughts and not thoughts.lstrip().startswith("{")  # the words only

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))


def test_failed_turns_map_to_the_stop_reason_that_fits_and_say_why() -> None:
    from rudder.acp.updates import turn_outcome

    assert turn_outcome(RunSummary(status="finished", answer="done")) == ("end_turn", None)
    reason, message = turn_outcome(RunSummary(status="stuck", answer="stopped: the same error 3 times"))
    assert reason == "max_turn_requests" and "the same error 3 times" in (message or "")
    reason, message = turn_outcome(RunSummary(status="error", error="RuntimeError: boom"))
    assert reason == "refusal" and "boom" in (message or "")
    overflow = "prompt is 5000 tokens but the context window is 4096 (with 768 reserved for the answer)"
    assert turn_outcome(RunSummary(status="error", answer=overflow))[0] == "max_tokens"
    assert turn_outcome(RunSummary(status="max_steps", steps=12))[0] == "max_turn_requests"
    assert turn_outcome(RunSummary(status="stopped")) == ("cancelled", None)
