"""`rudder vectors build` on the embedded model: a tiny terse build end to end, the mode that then uses it,
an interrupted build that resumes where it stopped, and a real subprocess killed mid-calibration."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rudder.modes.active import ActiveMode
from rudder.modes.registry import get_mode
from rudder.vectors.build.pipeline import BuildOptions, build_library
from rudder.vectors.build.recipes import load_recipes
from rudder.vectors.build.workdir import WorkDir
from rudder.vectors.files.card import load_card
from rudder.vectors.files.library import VectorResolver, model_key, model_library_dir

# a build in miniature (about 20 s of CPU on the embedded model): 8 pairs, one calibration question of 8 tokens
TINY = BuildOptions(scales=(0.05,), prompts=1, max_tokens=8, pairs=8, permutations=20)
TINY_ARGS = ["--only", "terse", "--scales", "0.05,0.1", "--prompts", "1", "--max-tokens", "8", "--pairs", "6",
             "--permutations", "10", "--no-search-layers", "--threads", "1"]  # fmt: skip


@pytest.fixture
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RUDDER_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("RUDDER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


class Stop(Exception):
    pass


@pytest.mark.slow
def test_a_build_fills_the_models_library_and_a_resume_skips_finished_work(fresh, user: Path) -> None:
    recipes = load_recipes(["terse"])
    seen: list[tuple[str, int, int]] = []

    def stop_after_first_row(recipe: str, stage: str, done: int, total: int) -> None:
        seen.append((stage, done, total))
        if stage == "calibrate" and done == 2:  # the unsteered answers and one scale are measured
            raise Stop

    with pytest.raises(Stop):
        build_library(fresh, recipes, None, stop_after_first_row, TINY)
    work = WorkDir.for_build(model_key(fresh.info.identity), "terse")
    assert work.summary() == "extracted, checked, unsteered answers and 1 calibration row"
    library = model_library_dir(fresh.info.identity)
    assert not list(library.glob("terse*")), "an interrupted build left files in the library"

    notes: list[str] = []
    stages: list[str] = []
    (built,) = build_library(fresh, recipes, None, lambda r, s, d, t: stages.append(s), TINY, note=notes.append)
    assert notes == ["terse: resuming an interrupted build (extracted, checked, unsteered answers and 1 calibration "
                     "row)"]  # fmt: skip
    card = built.card
    assert card.calibration is not None and card.negative_calibration is not None and card.health is not None
    assert [row.scale for row in card.calibration.rows][:2] == [0.0, 0.05]  # the kept row, then the rest
    assert card.recipe is not None and card.recipe.layers == card.calibration.layers
    assert card.build is not None and card.build.prompt_only is not None and card.build.prompt_only.answers == 1
    assert set(card.build.cpu_seconds) >= {"extract", "check", "calibrate", "prompt-only", "card"}
    assert sorted(p.name for p in library.iterdir()) == [
        "terse.calibration.negative.png", "terse.calibration.png", "terse.card.json", "terse.gguf",
    ]  # fmt: skip
    assert not work.root.exists()

    again = build_library(fresh, recipes, None, None, TINY)  # up to date: nothing runs
    assert again[0].skipped and load_card(again[0].path) == card

    active = ActiveMode(get_mode("fast-draft"), VectorResolver(fresh.info.identity, None))
    assert active.vector_sources["terse"] == library / "terse.gguf"  # the built vector, not the shipped one
    assert active.notice is None and active.mode.vectors[0].scale == card.calibration.scale


def _build(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rudder", "vectors", "build", *TINY_ARGS],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(1200)  # two model loads and builds in subprocesses: about 3 minutes here unloaded
def test_a_build_killed_mid_calibration_resumes_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    env = {**os.environ, "RUDDER_CONFIG_DIR": str(tmp_path / "cfg"), "RUDDER_CACHE_DIR": str(tmp_path / "cache"),
           "RUDDER_THREADS": "1", "COLUMNS": "200", "NO_COLOR": "1"}  # fmt: skip
    rows = list((tmp_path / "cache" / "vector-builds").glob("*/terse/calibration.json"))
    first = _build(env, tmp_path)
    deadline = time.monotonic() + 600
    while not rows and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        rows = list((tmp_path / "cache" / "vector-builds").glob("*/terse/calibration.json"))
    assert rows, f"no calibration row was written: {first.communicate()[0] if first.poll() is not None else ''}"
    first.send_signal(signal.SIGKILL)  # mid-calibration: no handler runs
    first.wait()
    library = tmp_path / "cfg" / "vectors"
    assert not list(library.rglob("terse*")), "a killed build left files in the library"
    second = _build(env, tmp_path)
    output = second.communicate(timeout=900)[0]
    assert second.returncode == 0, output
    assert "note: terse: resuming an interrupted build (extracted, checked, unsteered answers and" in output
    assert "terse: extract done" in output and "steering library for this model" in output
    (vector,) = library.glob("*/terse.gguf")
    card = load_card(vector)
    assert card.calibration is not None and card.calibration.rows[1].scale == 0.05
    assert not list(library.rglob(".*tmp*")) and not rows[0].parent.exists()
