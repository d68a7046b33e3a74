"""What the TUI shows about trusting the steering: a weak vector labelled weak in the steering panel, the
collapse guard's actions in the step (with the rewound text taken back), and a resumed session's steps
drawn like live ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Collapsible, Markdown, Static

from rudder.agent.events import SteeringChanged, StepFinished, StepRetried, StepStarted, Token
from rudder.agent.records import StepRecord
from rudder.interfaces import Phase, StepKind
from rudder.ui.messages import AgentEvent
from rudder.ui.widgets.steering_panel import SteeringPanel, VectorSlider
from rudder.ui.widgets.step_block import StepBlock
from rudder.ui.widgets.tool_block import ToolBlock
from rudder.vectors.files.card import Health, VectorCard, save_card
from rudder.vectors.files.formats import load_vector, save_vector
from rudder.vectors.files.library import SHIPPED_DIR
from rudder.vectors.vector import random_like
from tests.ui.conftest import SIZE, make_app, ready, until
from tests.ui.test_tui_model import send

pytestmark = pytest.mark.slow


def add_weak_vector(engine, repo: Path) -> None:
    """A random direction in the repo's library, with the card `rudder vectors check --save-card` writes for
    such a vector (weak), and a repo mode that steers with it."""
    terse = load_vector(SHIPPED_DIR / "terse.smollm2-135m.gguf", model=engine.info.identity)
    noise = random_like(terse, "noise", range(10, 16), seed=3)
    path = repo / ".rudder" / "vectors" / "noise.gguf"
    path.parent.mkdir(parents=True)
    save_vector(noise, path)
    health = Health(
        verdict="weak",
        reasons=["6/6 steered layers are no better than the permutation null"],
        pairs=12,
        held_out_pairs=3,
        layers=[],
        recommended_layers=None,
        steer_layers="10-15",
        steer_scale=0.05,
        probe_layer=18,
        shift=0.01,
        shift_null=0.02,
        permutations=200,
    )
    save_card(path, VectorCard(health=health))
    modes = repo / ".rudder" / "modes"
    modes.mkdir(parents=True)
    (modes / "noisy.toml").write_text(
        'name = "noisy"\nhotkey = "z"\n[[vectors]]\nvector = "noise"\nscale = 0.05\nlayers = "10-15"\n'
        '[[vectors]]\nvector = "terse"\nscale = 0.04\nlayers = "10-15"\n'
    )


async def test_a_vector_check_calls_weak_is_labelled_weak_in_the_steering_panel(engine, repo: Path) -> None:
    add_weak_vector(engine, repo)
    app = make_app(engine, repo, mode="fast-draft")
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await pilot.press("ctrl+t")
        panel = screen.query_one(SteeringPanel)
        assert {row.vector: row.health for row in panel.query(VectorSlider)} == {"terse": "strong"}
        screen.transcript.focus()
        await pilot.press("z")  # the repo mode's hotkey: the panel is rebuilt for it
        await until(pilot, lambda: {row.vector for row in panel.query(VectorSlider)} == {"noise", "terse"})
        rows = {row.vector: row for row in panel.query(VectorSlider)}
        assert rows["noise"].health == "weak" and rows["terse"].health == "strong"
        label = str(rows["noise"].query_one(".slider-label", Static).render())
        assert "weak" in label and "noise" in label
        assert "weak" not in str(rows["terse"].query_one(".slider-label", Static).render())


async def shown_step(pilot, events: list[object]) -> StepBlock:
    """Post the events to the main screen as a session would; the first step's block afterwards."""
    screen = await ready(pilot)
    for event in events:
        screen.post_message(AgentEvent(event))
        await pilot.pause()
    block = screen.transcript.step(0)
    assert isinstance(block, StepBlock)
    return block


async def test_collapse_guard_actions_show_in_the_step_and_rewound_text_is_taken_back(engine, repo: Path) -> None:
    guard = {
        "kind": "loop",
        "at_token": 48,
        "detail": "a 2-token phrase repeated over 26 tokens",
        "factor_before": 1.0,
        "factor_after": 0.5,
        "rewound": 24,
        "action": "backed-off",
        "plan": [{"vector": "terse", "scale": -0.15, "layers": [10, 11, 12, 13, 14, 15]}],
    }
    loop = "of the " * 4
    events = [
        StepStarted(0, StepKind.EXPLORE, "fast-draft"),
        SteeringChanged(0, Phase.THOUGHT, [{"vector": "terse", "scale": -0.3, "layers": [10, 15]}]),
        Token(0, "A process is a program in execution.\nIt runs ", Phase.THOUGHT),
        Token(0, loop, Phase.THOUGHT),
        SteeringChanged(0, Phase.THOUGHT, guard["plan"], "guard: loop", guard=guard),  # as Session._guarded sends it
        Token(0, "in its own memory.", Phase.THOUGHT, erase=len(loop)),
        StepFinished(StepRecord(index=0, kind=StepKind.EXPLORE, mode="fast-draft", tool="list_files")),
    ]
    app = make_app(engine, repo, mode="fast-draft")
    async with app.run_test(size=SIZE) as pilot:
        block = await shown_step(pilot, events)
        line = str(block.query_one(".guard", Static).render())
        assert "collapse guard" in line and "×1 → ×0.5" in line and "24 tokens rewound" in line
        assert "guard ×0.5" in str(block.query_one(".step-header", Static).render())
        shown = "A process is a program in execution.\nIt runs in its own memory."
        assert block.thought == shown and "of the" not in block.text
        await until(pilot, lambda: "in its own memory" in block.query_one(".thought", Markdown).source)
        assert "of the" not in block.query_one(".thought", Markdown).source


async def test_a_reply_set_aside_is_taken_back_and_the_step_says_why(engine, repo: Path) -> None:
    loop = "To change PORT from 80 to 8080, I use edit_file.config.8080 to make it 8080 to 8080 to 8080\nto 8080"
    events = [
        StepStarted(0, StepKind.EXPLORE, "fast-draft"),
        Token(0, loop, Phase.THOUGHT),
        Token(0, '{"path": "config.py", "search": "8080 to', Phase.TOOL_CALL),
        StepRetried(0, "fast-draft", "its thought looped on 'to 8080'"),
        Token(0, "To change PORT from 80 to 8080, I use edit_file.", Phase.THOUGHT),
    ]
    app = make_app(engine, repo, mode="fast-draft")
    async with app.run_test(size=SIZE) as pilot:
        block = await shown_step(pilot, events)
        line = str(block.query_one(".retried", Static).render())
        assert "fast-draft's reply set aside (its thought looped on 'to 8080')" in line
        assert block.thought == "To change PORT from 80 to 8080, I use edit_file." and "to make it" not in block.text
        assert block.call_text == "" and "to make it" not in block.query_one(".thought", Markdown).source


async def test_a_resumed_session_shows_earlier_steps_like_live_ones(engine, repo: Path) -> None:
    app = make_app(engine, repo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        await send(pilot, "create notes.txt containing: done")
        await until(pilot, lambda: screen.transcript.steps)
        await until(pilot, lambda: not screen.busy)

        def drawn(steps: dict[int, StepBlock]) -> dict[int, tuple]:
            return {
                i: (str(b.query_one(".step-header", Static).render()), b.tool.tool if b.tool else None)
                for i, b in steps.items()
            }

        live = drawn(screen.transcript.steps)
        first = screen.bridge.trajectory
        await send(pilot, "/new")
        await until(pilot, lambda: screen.bridge.trajectory != first and not screen.transcript.steps)
        await send(pilot, "/sessions")
        await until(pilot, lambda: type(app.screen).__name__ == "SessionPicker")
        await pilot.press("enter")
        await until(pilot, lambda: screen.bridge.trajectory == first and screen.transcript.steps)
        await until(pilot, lambda: screen.transcript.answers)
        steps = screen.transcript.steps
        assert drawn(steps) == live  # kind, mode and steering per phase in each header; the same tool blocks
        write = next(b for b in steps.values() if b.tool is not None and b.tool.tool == "write_file")
        assert isinstance(write.tool, ToolBlock) and write.tool.status == "ok"
        assert write.tool.query_one(Collapsible.Contents).query(".tool-output")  # its output, as when it ran
