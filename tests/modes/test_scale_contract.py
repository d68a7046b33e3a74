"""One meaning of scale (issue 25 item 3): a planned op is a unit direction and a strength; a mode's strengths
change through one function; "calibrated" scales are resolved once, when the mode file is read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rudder.engine.identity import ModelIdentity
from rudder.interfaces import StepKind
from rudder.modes.mode import Mode
from rudder.modes.registry import ModeError, parse_mode
from rudder.vectors.files.library import SHIPPED_DIR
from rudder.vectors.kinds import ScaleMode, SteeringOp
from rudder.vectors.steering.plan import VectorUse, build_plan
from rudder.vectors.vector import SteeringVector, VectorMeta

TERSE = SHIPPED_DIR / "terse.smollm2-135m.gguf"


def vector(norms: dict[int, float] | None = None) -> SteeringVector:
    rng = np.random.default_rng(7)
    model = ModelIdentity(architecture="llama", n_embd=16, n_layer=4)
    meta = VectorMeta(name="v", model=model, layer_norms=norms or {})
    return SteeringVector(meta, {layer: rng.standard_normal(16).astype(np.float32) * 3 for layer in (1, 2)})


@pytest.mark.parametrize(
    ("use", "strengths"),
    [
        (VectorUse(vector({1: 100.0, 2: 50.0}), 0.05), [5.0, 2.5]),  # relative: scale × the layer's residual norm
        (VectorUse(vector(), -0.5, scale_mode=ScaleMode.RAW), None),  # raw: scale × the stored direction's length
        (VectorUse(vector(), 0.7, op=SteeringOp.PROJECT_OUT), [0.7, 0.7]),  # the fraction removed
        (VectorUse(vector(), 0.7, op=SteeringOp.ABLATE), [1.0, 1.0]),
    ],
)
def test_a_planned_op_is_a_unit_direction_and_a_strength(use: VectorUse, strengths: list[float] | None) -> None:
    plan = build_plan([use])
    for op in plan.ops:
        assert np.linalg.norm(op.direction) == pytest.approx(1.0, abs=1e-6)
    if strengths is None:  # raw
        strengths = [-0.5 * float(np.linalg.norm(use.vector.directions[op.layer])) for op in plan.ops]
    assert [op.strength for op in plan.ops] == pytest.approx(strengths)
    for op in plan.ops:
        vec, scale = op.hook_args()
        if op.op == SteeringOp.ADD:  # what the hook and llama.cpp add: the push, taken as is
            assert scale == 1.0 and np.allclose(vec, op.direction * op.strength)
        else:
            assert vec is op.direction and scale == op.strength


def test_a_raw_zero_vector_plans_a_push_of_nothing() -> None:
    zero = vector() - vector()  # what `v - v` makes: steering with it changes nothing
    op = build_plan([VectorUse(zero, 2.0, scale_mode=ScaleMode.RAW)]).ops[0]
    assert op.strength == 0.0 and not op.push.any()


def test_backing_off_multiplies_the_strength_and_composes() -> None:
    plan = build_plan([VectorUse(vector({1: 100.0, 2: 50.0}), 0.08), VectorUse(vector(), 0.6, op=SteeringOp.ABLATE)])
    twice = plan.scaled(0.5).scaled(0.5)
    once = plan.scaled(0.25)
    assert [op.strength for op in twice.ops] == pytest.approx([op.strength for op in once.ops])
    assert [op.strength for op in once.ops] == pytest.approx([2.0, 1.0, 1.0, 1.0])  # 8×0.25, 4×0.25; ablate stays
    assert all(a.direction is b.direction for a, b in zip(once.ops, plan.ops, strict=True))  # still unit


def test_a_new_strength_sets_the_base_and_keeps_proportions_and_the_last_one_wins() -> None:
    mode = Mode.model_validate(
        {
            "name": "m",
            "vectors": [{"vector": "a", "scale": 0.04}, {"vector": "b", "scale": 0.0}],
            "steps": {"review": {"vectors": [{"vector": "a", "scale": 0.02}, {"vector": "b", "scale": 0.0}]}},
        }
    )
    once = mode.with_scales({"a": 0.08, "b": 0.3})
    assert [s.scale for s in once.vectors_for(StepKind.REVIEW)] == pytest.approx([0.04, 0.3])  # a: half its base
    twice = once.with_scales({"a": 0.02})
    direct = mode.with_scales({"a": 0.02, "b": 0.3})
    for kind in StepKind:
        assert [s.scale for s in twice.vectors_for(kind)] == pytest.approx([s.scale for s in direct.vectors_for(kind)])
    assert [s.scale for s in mode.vectors] == [0.04, 0.0]  # the original is untouched


def test_calibrated_scales_resolve_once_when_the_mode_file_is_read(tmp_path: Path) -> None:
    shutil.copy(TERSE, tmp_path / "t.gguf")
    card = json.loads(TERSE.with_name("terse.smollm2-135m.card.json").read_text())
    card["calibration"]["scale"], card["calibration"]["layers"] = 0.011, "12-14"
    (tmp_path / "t.card.json").write_text(json.dumps(card))
    text = 'name = "m"\n[[vectors]]\nvector = "t.gguf"\nscale = "calibrated"\n[steps.review]\nscale_factor = 2.0\n'
    mode = parse_mode(text, tmp_path / "m.toml")
    (tmp_path / "t.card.json").unlink()  # the Mode holds numbers: using it reads no card
    assert mode.vectors[0].scale == 0.011 and mode.vectors[0].layers == (12, 13, 14)
    assert mode.vectors_for(StepKind.REVIEW)[0].scale == pytest.approx(0.022)
    assert mode.with_scales({"t.gguf": 0.02}).vectors[0].scale == 0.02
    with pytest.raises(ValueError, match="valid number"):  # a Mode built without the loader never reads a card
        Mode.model_validate({"name": "m", "vectors": [{"vector": "t.gguf", "scale": "calibrated"}]})


def test_a_missing_card_is_one_error_naming_the_mode_file_the_entry_and_the_card(tmp_path: Path) -> None:
    shutil.copy(TERSE, tmp_path / "bare.gguf")
    text = 'name = "m"\n\n[steps.review]\nvectors = [{ vector = "bare.gguf", scale = "calibrated" }]\n'
    with pytest.raises(ModeError) as error:
        parse_mode(text, tmp_path / "m.toml")
    message = str(error.value)
    assert message.count("\n") == 0
    assert message.startswith(f"{tmp_path / 'm.toml'}:") and "steps.review.vectors[0]" in message
    assert "bare.card.json" in message and "rudder vectors calibrate bare.gguf --save-card" in message
