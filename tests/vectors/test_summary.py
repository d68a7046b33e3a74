"""`summarize` reads a Rudder vector's metadata and per-layer sizes without numpy; it must agree with a
full load for every file it accepts, and hand everything else to the full loader (None)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from rudder.vectors.files.formats import load_vector, save_vector
from rudder.vectors.files.library import SHIPPED_DIR
from rudder.vectors.files.summary import summarize
from rudder.vectors.kinds import SteeringOp
from tests.vectors.format_samples import make_vector, write_gguf


def assert_agrees(path: Path) -> None:
    summary = summarize(path)
    assert summary is not None, path
    vector = load_vector(path)
    assert summary.meta == vector.meta
    assert list(summary.sizes) == vector.layers
    for layer, size in summary.sizes.items():
        assert size == pytest.approx(float(np.linalg.norm(vector.directions[layer])), rel=1e-5)


@pytest.mark.parametrize("path", sorted(SHIPPED_DIR.glob("*.gguf")), ids=lambda p: p.name)
def test_shipped_vectors_agree_with_a_full_load(path: Path) -> None:
    assert_agrees(path)


def test_layer_zero_lives_in_metadata_and_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "v.gguf"
    save_vector(make_vector(layers=(0, 3)), path)
    assert_agrees(path)
    assert list(summarize(path).sizes) == [0, 3]


def test_other_formats_and_bad_files_go_to_the_full_loader(tmp_path: Path) -> None:
    vector = make_vector()
    llama, ds4 = tmp_path / "plain.gguf", tmp_path / "v.f32"
    save_vector(vector, llama, "llama")
    save_vector(make_vector(op=SteeringOp.PROJECT_OUT, site="ffn_out"), ds4)
    assert summarize(llama) is None and summarize(ds4) is None
    good = tmp_path / "good.gguf"
    save_vector(vector, good)
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(good.read_bytes()[:-10])
    assert summarize(truncated) is None
    data = {f"direction.{layer}": d.copy() for layer, d in vector.directions.items()}
    data["direction.1"][2] = math.nan
    meta = vector.meta.model_dump_json()
    nan = write_gguf(tmp_path / "nan.gguf", data, rudder__format_version=1, rudder__meta=meta)
    assert summarize(nan) is None  # the full loader words the error
    with pytest.raises(ValueError, match="NaN"):
        load_vector(nan)
    wrong_version = write_gguf(tmp_path / "v2.gguf", data, rudder__format_version=2, rudder__meta=meta)
    assert summarize(wrong_version) is None
    assert summarize(tmp_path / "missing.gguf") is None
