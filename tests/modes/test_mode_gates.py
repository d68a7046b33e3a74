"""A mode's conditional vector (`when = {...}`): validation, and the gate it becomes (no model: vectors
and cards are written here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rudder.interfaces import Phase, StepKind
from rudder.modes.active import ActiveMode
from rudder.modes.registry import ModeError, parse_mode
from rudder.vectors.files.card import GateCalibration, RunsRecipe, VectorCard, save_card
from rudder.vectors.files.formats import save_vector
from rudder.vectors.files.library import VectorResolver
from rudder.vectors.vector import ModelIdentity, SteeringVector, VectorError, VectorMeta

MODEL = ModelIdentity(architecture="llama", name="test", n_embd=8, n_layer=6)


def mode_text(when: str) -> str:
    return f'name = "gated"\n[[vectors]]\nvector = "drift.gguf"\nscale = -0.1\nlayers = "2,4"\nwhen = {when}\n'


@pytest.mark.parametrize(
    "when",
    [
        '{ axis = "drift.gguf" }',
        '{ axis = "drift.gguf", above = 0.1, below = 0.2 }',
        '{ axis = "d", above = 0.1, x = 1 }',
    ],
)
def test_a_gate_needs_exactly_one_side_and_known_keys(tmp_path: Path, when: str) -> None:
    with pytest.raises(ModeError, match="when"):
        parse_mode(mode_text(when), tmp_path / "gated.toml")


def write_axis(folder: Path, gate: GateCalibration | None) -> Path:
    rng = np.random.default_rng(0)
    meta = VectorMeta(name="drift", model=MODEL, layer_norms={2: 3.0, 4: 5.0})
    vector = SteeringVector(meta, {2: rng.normal(size=8), 4: rng.normal(size=8)})
    path = folder / "drift.gguf"
    save_vector(vector, path)
    runs = RunsRecipe(label="premature-finish", labels=[], position="thought", layers=[2, 4], split="train", runs=[])
    save_card(path, VectorCard(runs=runs.model_copy(update={"probe_layer": 2}), gate=gate))
    return path


def active(tmp_path: Path, when: str) -> ActiveMode:
    mode = parse_mode(mode_text(when), tmp_path / "gated.toml")
    return ActiveMode(mode, VectorResolver(MODEL, None, tmp_path))


def test_a_calibrated_gate_reads_the_cards_threshold_and_layer(tmp_path: Path) -> None:
    calibrated = GateCalibration(
        label="premature-finish",
        layer=4,
        position="thought",
        threshold=0.25,
        above=True,
        tpr=0.8,
        fpr=0.1,
        positives=5,
        negatives=9,
        runs=[],
    )
    write_axis(tmp_path, calibrated)
    plan = active(tmp_path, '{ axis = "drift.gguf", above = "calibrated" }').plan(StepKind.EDIT, Phase.THOUGHT)
    (gate,) = plan.gates
    assert (gate.node, gate.threshold, gate.above) == ("l_out-4", 0.25, True)
    assert all(op.gate is gate for op in plan.ops) and len(plan.ops) == 2
    assert plan.describe()[0]["when"]["above"] == 0.25
    below = active(tmp_path, '{ axis = "drift.gguf", below = -0.3, every = 8 }').plan(StepKind.EDIT, Phase.THOUGHT)
    (gate,) = below.gates
    assert (gate.node, gate.threshold, gate.above, gate.every) == ("l_out-2", -0.3, False, 8)  # the probe layer


def test_calibrated_without_a_calibration_is_one_clear_error(tmp_path: Path) -> None:
    write_axis(tmp_path, None)
    with pytest.raises(VectorError, match="no calibrated gate.*rudder vectors gate"):
        active(tmp_path, '{ axis = "drift.gguf", above = "calibrated" }')
