"""A mode whose vector the model lacks, in the TUI: the mode bar says it runs prompt-led and the transcript gets
the notice once, at the mode's first step; nothing errors and no other model's vector is used."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudder.agent.events import Notice, RunFinished
from rudder.ui.widgets.mode_bar import ModeBar
from rudder.vectors.files.card import Calibration, VectorCard, save_card
from rudder.vectors.files.formats import save_vector
from rudder.vectors.files.library import model_library_dir
from tests.modes.test_per_model import OTHER
from tests.ui.conftest import SIZE, make_app, ready, until
from tests.ui.test_tui_model import record_events, send
from tests.vectors.format_samples import make_vector

pytestmark = pytest.mark.slow
NOTICE = "fast-draft: no terse vector for this model yet — `rudder vectors build --only terse` (runs prompt-led)"


@pytest.fixture
def only_another_models_terse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped SmolLM2 vectors hidden; the user library has a calibrated terse for another model only."""
    monkeypatch.setenv("RUDDER_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setattr("rudder.vectors.files.library.SHIPPED_DIR", tmp_path / "no-shipped-vectors")
    vector = make_vector()
    vector.meta.name, vector.meta.model = "terse", OTHER
    folder = model_library_dir(OTHER)
    folder.mkdir(parents=True)
    save_vector(vector, folder / "terse.gguf")
    for_other = Calibration(metric="words", goal="decrease", layers="1-2", scale=0.5, max_damaged=0.1,
                            max_perplexity=4.0, rows=[])  # fmt: skip
    save_card(folder / "terse.gguf", VectorCard(calibration=for_other, negative_calibration=for_other))


async def test_a_mode_without_this_models_vector_runs_prompt_led_and_says_so(
    engine, repo: Path, only_another_models_terse: None
) -> None:
    app = make_app(engine, repo, mode="fast-draft", max_steps=1)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        bar = screen.query_one(ModeBar)
        assert "no terse vector for this model yet" in str(bar.render())
        events = record_events(screen)
        await send(pilot, "create notes.txt containing: done")
        await until(pilot, lambda: any(isinstance(e, RunFinished) for e in events), timeout=300)
        notices = [e for e in events if isinstance(e, Notice)]
        assert [n.text for n in notices] == [NOTICE] and notices[0].step == 0
        assert screen.bridge is not None and screen.bridge.session.policy.mode.vectors == []  # type: ignore[attr-defined]
