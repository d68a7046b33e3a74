"""MCP tools through `rudder run`: the CLI's approver on an MCP call (headless and at a terminal), and the
real command on the real model with a stdio and an HTTP server from the user's config."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rudder.agent.approval import ApprovalRequest, Decision
from rudder.agent.events import Notice
from rudder.agent.records import read_trajectory
from rudder.cli import run as run_cli
from tests.agent.test_mcp_session import mcp_session
from tests.agent.test_session import call
from tests.helpers import make_repo
from tests.tools.mcp_fixtures import SERVER, alive, http_server, recorded, stdio_server


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo", {"README.md": "hi\n"})
    return tmp_path / "repo"


def test_headless_ask_refuses_the_mcp_call_and_says_how_to_allow_it(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal
    calls = tmp_path / "calls.jsonl"
    replies = [call("calc.add", a=1, b=2), call("finish", answer="x")]
    s, _, events = mcp_session(repo, replies, {"calc": stdio_server(calls)}, approval="ask")
    s.approver = run_cli._ask
    try:
        s.run("add")
    finally:
        s.close()
    # the precondition, said as itself: a server that did not start in time (a loaded machine) leaves
    # calc.add out, and the scripted call then fails as an unknown tool, which reads like a grammar refusal
    assert "calc.add" in s.tools, [event for event in events if isinstance(event, Notice)]
    assert s.history[0].tool == "calc.add" and not s.history[0].ok
    assert "no terminal to ask on (use --approval auto to allow without asking)" in s.history[0].observation
    assert recorded(calls) == []


def test_at_a_terminal_the_prompt_shows_server_tool_and_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal(""))
    monkeypatch.setattr(run_cli.typer, "prompt", lambda *a, **k: "y")
    out = io.StringIO()
    monkeypatch.setattr(run_cli.console, "file", out)
    request = ApprovalRequest(
        step=0,
        tool="calc.add",
        arguments={"a": 1, "b": 2},
        access="execute",
        reason="calc.add calls MCP server 'calc', which runs outside the sandbox (approval is set to ask)",
        server="calc",
    )
    assert run_cli._ask(request) == Decision.ALLOW_ONCE
    shown = " ".join(out.getvalue().split())  # the console wraps at its width, which depends on the terminal
    assert "MCP server calc, tool add" in shown and '{"a": 1, "b": 2}' in shown and "outside the sandbox" in shown


@pytest.mark.slow
def test_rudder_run_calls_the_users_mcp_tool_warns_about_a_broken_server_and_stops_them(
    repo: Path, tmp_path: Path
) -> None:
    """The real command on the real model, told which tool to use (as test_run_sigint tells it the command):
    the servers start, their tools are offered, the model's call reaches the stdio server and its result is
    the observation, a broken server is a warning, and every server stops with the run."""
    calls, pid_file, config_dir = tmp_path / "calls.jsonl", tmp_path / "pid", tmp_path / "cfg"
    config_dir.mkdir()
    with http_server(tmp_path / "http-calls.jsonl") as url:
        (config_dir / "config.toml").write_text(
            f"[mcp.servers.calc]\ncommand = {json.dumps(sys.executable)}\nargs = [{json.dumps(str(SERVER))}, 'stdio']\n"
            f"env = {{ MCP_CALLS = {json.dumps(str(calls))}, MCP_PID = {json.dumps(str(pid_file))} }}\n"
            "tools = ['add']\nstartup_timeout = 120\n"
            f"[mcp.servers.web]\nurl = {json.dumps(url)}\ntools = ['add']\nstartup_timeout = 120\n"
            "[mcp.servers.gone]\ncommand = 'no-such-mcp-server-anywhere'\n"
        )
        env = {**os.environ, "RUDDER_CONFIG_DIR": str(config_dir), "NO_COLOR": "1", "RUDDER_THREADS": "1"}
        task = "Use the calc.add tool to add 2 and 3, then finish with the sum."
        options = ["--repo", str(repo), "--approval", "auto", "--max-steps", "1"]
        done = subprocess.run(
            [sys.executable, "-m", "rudder", "run", task, *options],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    assert "warning: MCP server 'gone' (no-such-mcp-server-anywhere) did not start" in " ".join(done.stderr.split())
    trajectory = next((repo / ".git" / "rudder" / "trajectories").glob("*.jsonl"))
    records = read_trajectory(trajectory)
    offered = next(r for r in records if r["type"] == "mcp")
    assert offered["tools"] == ["calc.add", "web.add"] and len(offered["problems"]) == 1
    step = next(r for r in records if r["type"] == "step")
    assert (step["tool"], step["arguments"], step["ok"]) == ("calc.add", {"a": 2, "b": 3}, True), step
    assert step["observation"] == "the sum is 5"
    assert recorded(calls) == [{"tool": "add", "arguments": {"a": 2, "b": 3}}]  # it reached the server
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid), "the stdio MCP server outlived `rudder run`"


def test_replay_shows_the_mcp_tools_a_run_offered_and_the_servers_that_failed(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    records = [
        {"type": "run", "task": "add", "mode": "neutral", "model": "m"},
        {"type": "mcp", "tools": ["calc.add"], "problems": ["MCP server 'gone' did not start"]},
        {"type": "step", "index": 0, "kind": "explore", "mode": "neutral", "tool": "calc.add", "observation": "5"},
        {"type": "end", "status": "finished", "answer": "5", "steps": 1, "tokens": 9, "wall_seconds": 1.0},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    command = [sys.executable, "-m", "rudder", "replay", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "MCP tools: calc.add" in done.stdout and "warning: MCP server 'gone' did not start" in done.stdout
    assert "unknown type" not in done.stderr
