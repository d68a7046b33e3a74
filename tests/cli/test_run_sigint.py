"""Ctrl-C during `rudder run`: the real command in a subprocess on the real model, a real shell command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import make_repo

SLEEP = "sleep 47"


def _descendant_running(root_pid: int, cmdline: str) -> bool:
    """Whether a process whose command line is `cmdline` runs below `root_pid` (through bwrap or not)."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    for pid, command in commands.items():
        if command == cmdline:
            while pid > 1:
                pid = parents.get(pid, 1)
                if pid == root_pid:
                    return True
    return False


@pytest.mark.slow
def test_ctrl_c_during_a_shell_command_stops_cleanly_and_keeps_the_trajectory(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"README.md": "hi\n"})
    env = {**os.environ, "RUDDER_CONFIG_DIR": str(tmp_path / "cfg"), "NO_COLOR": "1", "RUDDER_THREADS": "1"}
    command = [sys.executable, "-m", "rudder", "run", f"Use run_shell to run this exact command: {SLEEP}"]
    proc = subprocess.Popen(
        [*command, "--repo", str(repo), "--approval", "auto", "--max-steps", "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal, not a background job
    )
    deadline = time.monotonic() + 240
    while not _descendant_running(proc.pid, SLEEP):
        assert proc.poll() is None and time.monotonic() < deadline, "the model never ran the command"
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, output
    assert "Traceback" not in output
    assert "interrupted" in output and "trajectory:" in output, output
    assert not _descendant_running(proc.pid, SLEEP)
    (path,) = (repo / ".git" / "rudder" / "trajectories").glob("*.jsonl")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    (step,) = [r for r in records if r["type"] == "step"]
    assert step["tool"] == "run_shell" and "interrupted by the user" in step["observation"]
    assert records[-1]["type"] == "end" and records[-1]["status"] == "stopped"


@pytest.mark.slow
def test_ctrl_c_during_extraction_exits_cleanly_without_writing(tmp_path: Path) -> None:
    env = {**os.environ, "RUDDER_CONFIG_DIR": str(tmp_path / "cfg"), "NO_COLOR": "1", "RUDDER_THREADS": "1"}
    dataset = Path(__file__).parents[2] / "rudder" / "vectors" / "datasets" / "terse_verbose.jsonl"
    output = tmp_path / "v.gguf"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rudder", "vectors", "extract", str(dataset), "--layers", "10-12", "-o", str(output)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(6)  # the model loads in ~1-3 s; then it reads 200 prompts for ~10 s or more
    assert proc.poll() is None, "extraction ended before Ctrl-C"
    proc.send_signal(signal.SIGINT)
    # Ctrl-C lands when the decode running in llama.cpp returns (one batch of prompts: seconds when quiet,
    # over 30 s at a load average of 19 on 2 cores, 2026-12-07)
    proc.wait(timeout=120)
    output_text = proc.stdout.read() if proc.stdout else ""
    assert proc.returncode == 130, output_text
    assert "Traceback" not in output_text and "Exception ignored" not in output_text, output_text
    assert not output.exists()
