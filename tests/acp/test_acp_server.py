"""`rudder acp` as an editor sees it: a real subprocess on the real embedded model, driven by the SDK's client."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import acp
import pytest
from acp.schema import (
    AllowedOutcome,
    ClientCapabilities,
    CurrentModeUpdate,
    FileSystemCapabilities,
    ReadTextFileResponse,
    RequestPermissionResponse,
    ToolCallProgress,
    ToolCallStart,
    WriteTextFileResponse,
)
from acp.stdio import spawn_agent_process

from rudder.agent.records import read_trajectory
from tests.helpers import make_repo

pytestmark = pytest.mark.slow
TIMEOUT = 180


class EditorClient(acp.Client):
    """Records every update and answers permission requests like a user clicking a button."""

    def __init__(self, answer: str = "allow_once", cancel_on_thought: bool = False) -> None:
        self.updates: list[Any] = []
        self.permissions: list[Any] = []
        self.answer = answer
        self.cancel_on_thought = cancel_on_thought
        self.conn: Any = None
        self.session_id = ""

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def session_update(self, session_id: str, update: Any, **_: Any) -> None:
        self.updates.append(update)
        if self.cancel_on_thought and getattr(update, "session_update", "") == "agent_thought_chunk":
            self.cancel_on_thought = False
            await self.conn.cancel(session_id=session_id)

    async def request_permission(self, session_id: str, tool_call: Any, options: Any, **_: Any) -> Any:
        self.permissions.append(tool_call)
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected", option_id=self.answer))


def _env(tmp_path: Path, config: str) -> dict[str, str]:
    config_dir = tmp_path / "user-config"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "config.toml").write_text(config)
    return {**os.environ, "RUDDER_CONFIG_DIR": str(config_dir), "RUDDER_THREADS": os.environ.get("RUDDER_THREADS", "1")}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_repo(tmp_path / "project", {"README.md": "# Project\n"})
    return tmp_path / "project"


async def _session(conn: Any, repo: Path) -> str:
    init = await conn.initialize(protocol_version=acp.PROTOCOL_VERSION, client_capabilities=ClientCapabilities())
    assert init.agent_capabilities.load_session and init.agent_info.name == "rudder"
    new = await conn.new_session(cwd=str(repo), mcp_servers=[])
    assert "fast-draft" in [m.id for m in new.modes.available_modes] and new.modes.current_mode_id == "neutral"
    return new.session_id


def test_a_prompt_that_edits_asks_permission_streams_updates_and_ends_the_turn(repo: Path, tmp_path: Path) -> None:
    async def main() -> None:
        client = EditorClient("allow_once")
        env = _env(tmp_path, '[agent]\napproval = "ask"\nmax_steps = 6\n')
        async with spawn_agent_process(client, sys.executable, "-m", "rudder", "acp", env=env, cwd=repo) as (conn, _):
            session_id = await _session(conn, repo)
            response = await conn.prompt(
                session_id=session_id, prompt=[acp.text_block("create notes.txt containing: done")]
            )
            assert response.stop_reason == "end_turn"
        assert (repo / "notes.txt").read_text().strip() == "done"
        assert client.permissions and client.permissions[0].kind == "edit"
        starts = [u for u in client.updates if isinstance(u, ToolCallStart)]
        finishes = [u for u in client.updates if isinstance(u, ToolCallProgress)]
        assert starts[0].kind == "edit" and starts[0].raw_input["path"] == "notes.txt"
        diff = next(c for c in finishes[0].content if getattr(c, "type", "") == "diff")
        assert diff.new_text.strip() == "done" and diff.path.endswith("notes.txt")
        assert finishes[0].status == "completed"
        assert any(getattr(u, "session_update", "") == "agent_message_chunk" for u in client.updates)

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))


def test_cancel_mid_generation_ends_the_turn_as_cancelled(repo: Path, tmp_path: Path) -> None:
    async def main() -> None:
        client = EditorClient(cancel_on_thought=True)
        env = _env(tmp_path, "[agent]\nplan_first = true\n")  # the plan streams as thought chunks
        async with spawn_agent_process(client, sys.executable, "-m", "rudder", "acp", env=env, cwd=repo) as (conn, _):
            session_id = await _session(conn, repo)
            response = await conn.prompt(session_id=session_id, prompt=[acp.text_block("explain this repository")])
            assert response.stop_reason == "cancelled"
            thoughts = [u for u in client.updates if getattr(u, "session_update", "") == "agent_thought_chunk"]
            assert 1 <= len(thoughts) <= 3  # stopped within a token or two of the cancel
            # the session lives on: the next prompt works
            again = await conn.prompt(session_id=session_id, prompt=[acp.text_block("just finish")])
            assert again.stop_reason in ("end_turn", "max_turn_requests")

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))


def test_set_mode_changes_the_next_steps_steering(repo: Path, tmp_path: Path) -> None:
    async def main() -> None:
        client = EditorClient()
        env = _env(tmp_path, "[agent]\nplan_first = true\nmax_steps = 2\n")
        async with spawn_agent_process(client, sys.executable, "-m", "rudder", "acp", env=env, cwd=repo) as (conn, _):
            session_id = await _session(conn, repo)
            await conn.set_session_mode(session_id=session_id, mode_id="fast-draft")
            await conn.prompt(session_id=session_id, prompt=[acp.text_block("what is in README.md?")])
        assert any(isinstance(u, CurrentModeUpdate) and u.current_mode_id == "fast-draft" for u in client.updates)
        (trajectory,) = (repo / ".git" / "rudder" / "trajectories").glob("*.jsonl")
        steps = [r for r in read_trajectory(trajectory) if r["type"] == "step"]
        assert steps[0]["mode"] == "fast-draft" and steps[0]["kind"] == "plan"
        assert [v["vector"] for v in steps[0]["steering"]["thought"]] == ["terse"]

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))


def test_malformed_json_rpc_gets_an_error_and_the_server_lives_on(repo: Path, tmp_path: Path) -> None:
    async def main() -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "rudder",
            "acp",
            cwd=repo,
            env=_env(tmp_path, ""),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdin and process.stdout
        process.stdin.write(b"this is not json\n")
        await process.stdin.drain()
        error = json.loads(await process.stdout.readline())
        assert error["error"]["code"] == -32700
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": acp.PROTOCOL_VERSION}}
        process.stdin.write(json.dumps(init).encode() + b"\n")
        await process.stdin.drain()
        answer = json.loads(await process.stdout.readline())
        assert answer["id"] == 1 and answer["result"]["agentInfo"]["name"] == "rudder"
        process.stdin.write(b'{"jsonrpc": "2.0", "id": 2, "method": "session/prompt", "params": {"sessionId": 5}}\n')
        await process.stdin.drain()
        bad_params = json.loads(await process.stdout.readline())
        assert bad_params["id"] == 2 and bad_params["error"]["code"] in (-32602, -32603)
        process.stdin.close()
        assert await asyncio.wait_for(process.wait(), 30) == 0

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))


def test_a_saved_session_loads_replays_and_continues(repo: Path, tmp_path: Path) -> None:
    async def main() -> None:
        env = _env(tmp_path, "[agent]\nmax_steps = 4\n")
        first = EditorClient()
        async with spawn_agent_process(first, sys.executable, "-m", "rudder", "acp", env=env, cwd=repo) as (conn, _):
            session_id = await _session(conn, repo)
            await conn.prompt(session_id=session_id, prompt=[acp.text_block("create notes.txt containing: done")])
        second = EditorClient()
        async with spawn_agent_process(second, sys.executable, "-m", "rudder", "acp", env=env, cwd=repo) as (conn, _):
            await conn.initialize(protocol_version=acp.PROTOCOL_VERSION, client_capabilities=ClientCapabilities())
            loaded = await conn.load_session(cwd=str(repo), session_id=session_id, mcp_servers=[])
            assert loaded.modes.current_mode_id == "neutral"
            replayed = [getattr(u, "session_update", "") for u in second.updates]
            assert replayed[0] == "user_message_chunk" and "tool_call" in replayed
            response = await conn.prompt(session_id=session_id, prompt=[acp.text_block("now just finish")])
            assert response.stop_reason in ("end_turn", "max_turn_requests")
            with pytest.raises(acp.RequestError):
                await conn.load_session(cwd=str(repo), session_id="no-such-session", mcp_servers=[])
        records = read_trajectory(repo / ".git" / "rudder" / "trajectories" / f"{session_id}.jsonl")
        assert [r["turn"] for r in records if r["type"] == "run"] == [1, 2]  # one file, both turns

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))


class BufferClient(EditorClient):
    """An editor with an unsaved buffer: the agent must see and change the buffer, not the disk."""

    def __init__(self, buffers: dict[str, str]) -> None:
        super().__init__()
        self.buffers = buffers
        self.reads: list[str] = []

    async def read_text_file(self, session_id: str, path: str, **_: Any) -> Any:
        self.reads.append(path)
        if path not in self.buffers:
            raise acp.RequestError.invalid_params({"message": "not open"})
        return ReadTextFileResponse(content=self.buffers[path])

    async def write_text_file(self, session_id: str, path: str, content: str, **_: Any) -> Any:
        self.buffers[path] = content
        return WriteTextFileResponse()


def test_files_go_through_the_editor_when_it_offers_its_file_system(repo: Path, tmp_path: Path) -> None:
    async def main() -> None:
        notes = str(repo / "notes.txt")
        client = BufferClient({})
        env = _env(tmp_path, "[agent]\nmax_steps = 4\n")
        capabilities = ClientCapabilities(fs=FileSystemCapabilities(read_text_file=True, write_text_file=True))
        async with spawn_agent_process(client, sys.executable, "-m", "rudder", "acp", env=env, cwd=repo) as (conn, _):
            await conn.initialize(protocol_version=acp.PROTOCOL_VERSION, client_capabilities=capabilities)
            session_id = (await conn.new_session(cwd=str(repo), mcp_servers=[])).session_id
            await conn.prompt(session_id=session_id, prompt=[acp.text_block("create notes.txt containing: done")])
        assert client.buffers.get(notes, "").strip() == "done"  # written into the editor's buffer ...
        assert not (repo / "notes.txt").exists()  # ... which the user has not saved yet

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))
