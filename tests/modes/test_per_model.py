"""A mode on a model: its library vectors and calibrated scales are that model's; a model without the vector
runs the mode prompt-led with one notice; another model's vector is never used."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rudder.interfaces import Phase, StepKind
from rudder.modes.active import ActiveMode
from rudder.modes.registry import get_mode, parse_mode
from rudder.vectors.files.card import Calibration, VectorCard, save_card
from rudder.vectors.files.formats import save_vector
from rudder.vectors.files.library import SHIPPED_DIR, VectorResolver, model_key, model_library_dir, resolve_vector
from rudder.vectors.meta import ModelIdentity
from tests.vectors.format_samples import MODEL, make_vector

OTHER = ModelIdentity(architecture="qwen2", name="Other 7B", n_embd=8, n_layer=6, layout_hash="cd" * 32)
SMOLLM2 = ModelIdentity(
    architecture="llama",
    name="Smollm2 135M 8k Lc100K Mix1 Ep2",
    n_embd=576,
    n_layer=30,
    layout_hash="d65e4614c517e4402e4494d56079dba74413fd08dc927e2dae6520822d2e02f3",
)


def build_terse(model: ModelIdentity, scale: float, layers: str, *, calibrated: bool = True) -> Path:
    """A terse vector and card in `model`'s library folder, as `rudder vectors build` leaves them."""
    vector = make_vector()
    vector.meta.name, vector.meta.model = "terse", model
    folder = model_library_dir(model)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "terse.gguf"
    save_vector(vector, path)
    calibration = Calibration(
        metric="words", goal="decrease", layers=layers, scale=scale, max_damaged=0.1, max_perplexity=4.0, rows=[]
    )
    save_card(path, VectorCard(calibration=calibration if calibrated else None))
    return path


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RUDDER_CONFIG_DIR", str(tmp_path / "user"))
    return tmp_path / "user"


def test_a_mode_takes_the_loaded_models_vector_and_calibrated_scale(user_dir: Path) -> None:
    build_terse(MODEL, 0.031, "1-2")
    build_terse(OTHER, 0.5, "4")
    active = ActiveMode(get_mode("fast-draft"), VectorResolver(MODEL, None))
    assert active.notice is None
    (spec,) = active.mode.vectors
    assert (spec.scale, spec.layers) == (0.031, (1, 2))  # this model's card, not the shipped SmolLM2 one
    plan = active.plan(StepKind.EDIT, Phase.THOUGHT)
    assert plan.label == "fast-draft" and not plan.empty
    other = ActiveMode(get_mode("fast-draft"), VectorResolver(OTHER, None))
    assert (other.mode.vectors[0].scale, other.mode.vectors[0].layers) == (0.5, (4,))


def test_a_model_without_the_vector_runs_prompt_led_and_says_so_once(user_dir: Path) -> None:
    build_terse(OTHER, 0.5, "4")  # another model's terse must not be used for MODEL
    active = ActiveMode(get_mode("fast-draft"), VectorResolver(MODEL, None))
    assert active.notice == (
        "fast-draft: no terse vector for this model yet — `rudder vectors build --only terse` (runs prompt-led)"
    )
    assert active.mode.vectors == [] and active.plan(StepKind.EDIT, Phase.THOUGHT).empty
    assert active.mode.addendum == get_mode("fast-draft").addendum  # the prompt side still runs
    rescaled = ActiveMode(active.mode.with_scales({"terse": 0.1}), active.resolve)  # a slider moved: the same mode
    assert rescaled.notice == active.notice and rescaled.mode.vectors == []


def test_an_uncalibrated_vector_is_left_out_with_its_own_notice(user_dir: Path) -> None:
    build_terse(MODEL, 0.0, "1-2", calibrated=False)
    active = ActiveMode(get_mode("fast-draft"), VectorResolver(MODEL, None))
    assert active.notice is not None and "terse not calibrated for this model" in active.notice
    assert active.mode.vectors == []


def test_numeric_scales_keep_their_value_per_model(user_dir: Path) -> None:
    build_terse(MODEL, 0.031, "1-2")
    mode = parse_mode('name = "m"\n[[vectors]]\nvector = "terse"\nscale = 0.2\nlayers = "1-2"\n', Path("m.toml"))
    active = ActiveMode(mode, VectorResolver(MODEL, None))
    assert (active.mode.vectors[0].scale, active.mode.vectors[0].layers) == (0.2, (1, 2))
    assert ActiveMode(mode, VectorResolver(OTHER, None)).notice is not None


def test_the_shipped_library_still_serves_smollm2() -> None:
    entry = resolve_vector("terse", SMOLLM2)
    assert entry is not None and entry.path.parent == SHIPPED_DIR
    assert resolve_vector("terse", MODEL) is None


def test_a_vector_for_another_model_in_a_model_folder_is_skipped_with_one_line(
    user_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stray = make_vector()
    stray.meta.name, stray.meta.model = "terse", OTHER
    folder = model_library_dir(MODEL)
    folder.mkdir(parents=True)
    save_vector(stray, folder / "terse.gguf")  # copied into MODEL's folder by hand
    with caplog.at_level(logging.WARNING):
        assert resolve_vector("terse", OTHER) is None and resolve_vector("terse", MODEL) is None
    lines = [r.getMessage() for r in caplog.records if "terse.gguf" in r.getMessage()]
    assert len(lines) == 1
    assert (
        f"a vector for Other 7B (6 layers, n_embd 8), in the folder of another model ({model_key(MODEL)})" in (lines[0])
    )
