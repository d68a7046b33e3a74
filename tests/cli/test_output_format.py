"""`rudder run --output-format json|stream-json`: stdout is JSON only, valid against the documented schemas,
through a real `rudder run` on the embedded model; the exit status is the text mode's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from rudder.agent.approval import ApprovalRequest
from rudder.agent.events import ApprovalRequested, Token
from rudder.cli.output_format import event_json, result_schema, stream_schema
from rudder.interfaces import Phase
from tests.helpers import make_repo

SCHEMAS = Path(__file__).parents[2] / "docs" / "schemas"


def test_the_documented_schemas_are_the_generated_ones() -> None:
    """docs/schemas/ is what users validate against: regenerate it when an event changes (see the docs)."""
    assert json.loads((SCHEMAS / "rudder-run-stream.schema.json").read_text()) == stream_schema()
    assert json.loads((SCHEMAS / "rudder-run-result.schema.json").read_text()) == result_schema()


def test_the_schema_refuses_a_line_that_breaks_it() -> None:
    validator = jsonschema.Draft202012Validator(stream_schema())
    line = event_json(Token(3, "hi", Phase.THOUGHT))
    assert line["type"] == "token" and line["version"] == 1 and validator.is_valid(line)
    assert not validator.is_valid({**line, "step": "three"})
    assert not validator.is_valid({k: v for k, v in line.items() if k != "step"})
    assert not validator.is_valid({**line, "version": 2})


def test_an_approval_request_is_data_without_its_live_parts() -> None:
    request = ApprovalRequest(step=1, tool="run_shell", arguments={"command": "ls"}, access="execute", reason="ask")
    line = event_json(ApprovalRequested(request))
    assert jsonschema.Draft202012Validator(stream_schema()).is_valid(line)
    assert set(line["request"]) == {"step", "tool", "arguments", "access", "reason", "diff", "command", "sensitive"}


def rudder_run(repo: Path, tmp_path: Path, fmt: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUDDER_THREADS": "1", "RUDDER_CONFIG_DIR": str(tmp_path / "cfg"), "NO_COLOR": "1"}
    task = "create notes.txt containing: done"
    command = [sys.executable, "-m", "rudder", "run", task, "-C", str(repo), "--approval", "auto"]
    return subprocess.run(
        [*command, "--max-steps", "3", "--output-format", fmt], capture_output=True, text=True, env=env, timeout=600
    )


@pytest.mark.slow
def test_json_and_stream_json_through_a_real_run(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo", {"AGENTS.md": "Keep answers short.\n"})
    repo = tmp_path / "repo"
    done = rudder_run(repo, tmp_path, "json")
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout  # one object, nothing else on stdout
    result = json.loads(lines[0])
    jsonschema.validate(result, result_schema())
    assert done.returncode == result["exit_code"] == (0 if result["status"] == "finished" else 1)
    assert Path(result["trajectory"]).is_file() and result["steps"] >= 1
    assert [f["path"] for f in result["instructions"]] == ["AGENTS.md"]
    assert "instructions: AGENTS.md" in done.stderr  # the header line, on stderr
    if (repo / "notes.txt").exists():
        assert "notes.txt" in result["files_changed"]

    (repo / "notes.txt").unlink(missing_ok=True)
    streamed = rudder_run(repo, tmp_path, "stream-json")
    validator = jsonschema.Draft202012Validator(stream_schema())
    events = [json.loads(line) for line in streamed.stdout.splitlines()]
    for event in events:
        errors = [e.message for e in validator.iter_errors(event)]
        assert not errors, (event["type"], errors[:3])
    types = [e["type"] for e in events]
    assert types[0] == "run_started" and types[-2:] == ["run_finished", "result"]
    assert "step_started" in types and "step_finished" in types and "token" in types
    assert streamed.returncode == events[-1]["exit_code"]
    assert events[-1]["steps"] == types.count("step_finished")
