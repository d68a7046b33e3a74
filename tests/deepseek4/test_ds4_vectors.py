"""ds4 directional-steering files on the tiny deepseek4 model: load, apply at ffn_out, and extract one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rudder.cli import app
from rudder.vectors.files.formats import load_vector
from rudder.vectors.files.formats_ds4 import DS4_FORMAT, load_ds4
from rudder.vectors.steering.plan import VectorUse, build_plan
from rudder.vectors.steering.steerer import Steerer
from rudder.vectors.vector import SteeringOp
from tests.deepseek4.test_tiny_model import logits_for, raw_rows, unit

pytestmark = pytest.mark.slow


def write_like_ds4(path: Path, rows: np.ndarray, component: str = "ffn_out") -> Path:
    """NAME.f32 + NAME.json as ds4's dir-steering/tools/build_direction.py writes them (no Rudder fields)."""
    rows.astype("<f4").tofile(path.with_suffix(".f32"))
    sidecar = {
        "format": DS4_FORMAT,
        "shape": list(rows.shape),
        "component": component,
        "model": "ds4flash.gguf",
        "note": "runtime positive scale suppresses this direction; negative scale amplifies it",
        "thinking": False,
        "pair_normalize": True,
    }
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    return path.with_suffix(".f32")


def test_a_ds4_file_loads_and_projects_its_direction_out_at_ffn_out(ds4, tmp_path: Path) -> None:
    d = unit(64, 7)
    rows = np.zeros((3, 64), np.float32)
    rows[1] = d  # ds4 writes every layer; zero rows steer nothing
    vector = load_vector(write_like_ds4(tmp_path / "calm", rows), model=ds4.info.identity)
    assert (vector.meta.op, vector.meta.site, vector.layers) == (SteeringOp.PROJECT_OUT, "ffn_out", [1])
    base_logits, base_rows = logits_for(ds4), raw_rows(ds4, "ffn_out-1")
    steerer = Steerer(ds4)
    with steerer.steering(build_plan([VectorUse(vector, 1.0)])):
        steered = logits_for(ds4)
        rows_after = raw_rows(ds4, "ffn_out-1")
    np.testing.assert_allclose(rows_after @ d, 0.0, atol=1e-5)
    assert np.abs(steered - base_logits).max() > 1e-4
    assert np.array_equal(logits_for(ds4), base_logits)
    np.testing.assert_allclose(raw_rows(ds4, "ffn_out-1"), base_rows, atol=0)


def test_extract_writes_a_ds4_vector_with_project_out_at_ffn_out(ds4, tiny_ds4_path: Path, tmp_path: Path) -> None:
    dataset = tmp_path / "pairs.jsonl"
    pairs = [("Answer briefly.", "Answer at length."), ("Be terse.", "Be verbose and detailed.")]
    dataset.write_text("\n".join(json.dumps({"positive": p, "negative": n}) for p, n in pairs) + "\n")
    out = tmp_path / "terse.f32"
    args = ["vectors", "extract", str(dataset), "--op", "project-out", "--layers", "0-2", "-o", str(out)]
    result = CliRunner().invoke(app, [*args, "--model", str(tiny_ds4_path)])
    assert result.exit_code == 0, result.output
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["format"] == DS4_FORMAT and sidecar["component"] == "ffn_out" and sidecar["shape"] == [3, 64]
    raw = np.fromfile(out, dtype="<f4").reshape(3, 64)
    np.testing.assert_allclose(np.linalg.norm(raw, axis=1), 1.0, rtol=1e-5)  # unit rows, as ds4 expects
    vector = load_ds4(out, model=ds4.info.identity)
    assert vector.meta.op == SteeringOp.PROJECT_OUT and vector.layers == [0, 1, 2]
    base = logits_for(ds4)
    with Steerer(ds4).steering(build_plan([VectorUse(vector, 1.0)])):
        assert np.abs(logits_for(ds4) - base).max() > 1e-5
