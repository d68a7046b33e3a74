"""Snapshots (pytest-textual-snapshot) of the main screen, the steering panel and the approval modal.

Deterministic: the transcript is fed recorded-shape events (no generation, no timings), the repo is
named `demo`, the status line shows no rate. Update with `pytest tests/ui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rudder.agent.approval import ApprovalRequest
from rudder.agent.events import (
    RunFinished,
    RunStarted,
    SteeringChanged,
    StepFinished,
    StepStarted,
    Token,
    ToolCallFinished,
    ToolCallStarted,
)
from rudder.agent.records import RunSummary, StepRecord
from rudder.interfaces import Phase, StepKind
from rudder.ui.dialogs.approval import ApprovalDialog
from rudder.ui.messages import AgentEvent
from rudder.ui.widgets.steering_panel import SteeringPanel
from tests.ui.conftest import SIZE, make_app, ready

pytestmark = pytest.mark.slow

DIFF = "--- a/notes.txt\n+++ b/notes.txt\n@@ -1 +1,2 @@\n old notes\n+done\n"
STEERING = [{"vector": "terse", "scale": 0.05, "layers": [10, 11, 12, 13, 14, 15]}]


def script() -> list:
    call = '{"tool": "write_file", "path": "notes.txt", "content": "old notes\\ndone"}'
    record = StepRecord(index=0, kind=StepKind.EDIT, mode="fast-draft", tool="write_file", prompt_tokens=400)
    finish = StepRecord(index=1, kind=StepKind.ANSWER, mode="fast-draft", tool="finish", prompt_tokens=450)
    return [
        RunStarted(1, "add done to notes.txt", "fast-draft"),
        StepStarted(0, StepKind.EDIT, "fast-draft"),
        SteeringChanged(0, Phase.THOUGHT, STEERING),
        *(Token(0, piece, Phase.THOUGHT) for piece in ["I will **append** ", "`done` to ", "notes.txt."]),
        *(Token(0, call[i : i + 12], Phase.TOOL_CALL) for i in range(0, len(call), 12)),
        ToolCallStarted(0, "write_file", {"path": "notes.txt", "content": "old notes\ndone"}, "write"),
        ToolCallFinished(0, "write_file", True, "wrote notes.txt (15 bytes, 2 lines)", DIFF, "3", None),
        StepFinished(record),
        StepStarted(1, StepKind.ANSWER, "fast-draft"),
        StepFinished(finish),
        RunFinished(1, RunSummary(status="finished", answer="Added `done` to notes.txt.", steps=2, tokens=512)),
    ]


async def feed(pilot) -> None:
    screen = await ready(pilot)
    await screen.transcript.add_user("add done to notes.txt")
    for event in script():
        screen.post_message(AgentEvent(event))
        await pilot.pause()
    await pilot.pause(0.3)
    screen.status.set(tok_s=None)  # a rate measured from the fed events would differ per run
    screen.transcript.focus()
    await pilot.pause()


def test_main_screen(snap_compare, engine, repo: Path) -> None:
    assert snap_compare(make_app(engine, repo, mode="fast-draft", sandbox="off"), terminal_size=SIZE, run_before=feed)


def test_steering_panel(snap_compare, engine, repo: Path) -> None:
    async def with_panel(pilot) -> None:
        await feed(pilot)
        await pilot.press("ctrl+t")
        meter = pilot.app.screen.bridge.meter  # what the hook's capture fills while the model writes
        meter.readings["terse"].extend([0.05, 0.12, 0.2, 0.16, 0.22, 0.25, 0.19, 0.24, 0.27, 0.21])
        await pilot.pause(0.3)  # the screen polls the meter ten times a second
        assert pilot.app.screen.query_one(SteeringPanel).display

    assert snap_compare(
        make_app(engine, repo, mode="fast-draft", sandbox="off"), terminal_size=SIZE, run_before=with_panel
    )


def test_approval_modal(snap_compare, engine, repo: Path) -> None:
    async def ask(pilot) -> None:
        await ready(pilot)
        request = ApprovalRequest(
            step=0,
            tool="write_file",
            arguments={"path": "notes.txt", "content": "old notes\ndone"},
            access="write",
            reason="the approval policy is ask",
            diff=DIFF,
        )
        await pilot.app.push_screen(ApprovalDialog(request))
        await pilot.pause(0.3)

    assert snap_compare(make_app(engine, repo, approval="ask", sandbox="off"), terminal_size=SIZE, run_before=ask)
