"""Vector files: one clear error, naming the file and what was expected, for each kind of bad file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from rudder.engine.model_file import embedded_model_path
from rudder.vectors.files.formats import (
    VectorFormat,
    load_vector,
    save_vector,
)
from rudder.vectors.vector import ModelIdentity, SteeringOp, VectorError
from tests.vectors.format_samples import (
    MODEL,
    N_EMBD,
    N_LAYER,
    make_vector,
    write_ds4_like_build_direction,
    write_gguf,
)


@pytest.mark.parametrize(
    ("fmt", "filename"), [(VectorFormat.RUDDER, "r.gguf"), (VectorFormat.LLAMA, "l.gguf"), (VectorFormat.DS4, "d.f32")]
)
def test_wrong_n_embd_for_the_model_is_refused(tmp_path: Path, fmt: VectorFormat, filename: str) -> None:
    save_vector(make_vector(op=SteeringOp.PROJECT_OUT, site="ffn_out"), tmp_path / filename, fmt)
    wide = MODEL.model_copy(update={"n_embd": 16})
    with pytest.raises(
        VectorError, match=rf"{filename}: the directions have n_embd 8, the loaded model tiny has n_embd 16"
    ):
        load_vector(tmp_path / filename, model=wide)


def test_layers_of_different_width_are_refused(tmp_path: Path) -> None:
    path = write_gguf(
        tmp_path / "mixed.gguf", {"direction.1": np.ones(8, np.float32), "direction.2": np.ones(9, np.float32)}
    )
    with pytest.raises(
        VectorError, match=r"mixed\.gguf: layers have different n_embd \(direction\.1: 8, direction\.2: 9\)"
    ):
        load_vector(path)


def test_nan_and_inf_are_refused(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "inf.gguf", {"direction.1": np.array([1.0, np.inf] * 4, np.float32)})
    with pytest.raises(VectorError, match=r"inf\.gguf: vector 'inf': layer 1 contains NaN or infinite"):
        load_vector(path)
    rows = np.ones((N_LAYER, N_EMBD), np.float32)
    rows[2, 5] = np.nan
    write_ds4_like_build_direction(tmp_path / "nan", rows)
    with pytest.raises(VectorError, match=r"nan\.f32: vector 'nan': layer 2 contains NaN"):
        load_vector(tmp_path / "nan.f32")


def test_vectors_for_another_model_are_refused(tmp_path: Path) -> None:
    save_vector(make_vector(), tmp_path / "v.gguf")
    other = MODEL.model_copy(update={"name": "other", "layout_hash": "cd" * 32})
    with pytest.raises(
        VectorError, match=r"v\.gguf 'demo' was made for tiny \(layout ababab.*the loaded model is other"
    ):
        load_vector(tmp_path / "v.gguf", model=other)
    with pytest.raises(
        VectorError, match=r"v\.gguf 'demo' was made for architecture 'llama', the loaded model is 'qwen2'"
    ):
        load_vector(tmp_path / "v.gguf", model=ModelIdentity(architecture="qwen2", n_embd=N_EMBD, n_layer=N_LAYER))
    write_gguf(tmp_path / "q.gguf", {"direction.1": np.ones(N_EMBD, np.float32)}, controlvector__model_hint="qwen2")
    with pytest.raises(
        VectorError, match=r"q\.gguf 'q' was made for architecture 'qwen2', the loaded model is 'llama'"
    ):
        load_vector(tmp_path / "q.gguf", model=MODEL)
    write_ds4_like_build_direction(tmp_path / "deep", np.ones((43, N_EMBD), np.float32))
    with pytest.raises(VectorError, match=r"deep\.f32 'deep' was made for n_embd=8, n_layer=43; .* n_layer=6"):
        load_vector(tmp_path / "deep.f32", model=MODEL)
    write_gguf(tmp_path / "far.gguf", {"direction.9": np.ones(N_EMBD, np.float32)}, controlvector__model_hint="llama")
    with pytest.raises(VectorError, match=r"far\.gguf: vector 'far': layer 9 is outside the model's 0\.\.5"):
        load_vector(tmp_path / "far.gguf", model=MODEL)


def test_truncated_and_foreign_files_are_refused(tmp_path: Path) -> None:
    save_vector(make_vector(), tmp_path / "v.gguf")
    data = (tmp_path / "v.gguf").read_bytes()
    for cut, where in ((len(data) - 4, "tensor data is missing"), (40, "the file ends inside its header")):
        (tmp_path / "cut.gguf").write_bytes(data[:cut])
        with pytest.raises(VectorError, match=rf"cut\.gguf: {where}.*truncated.*expected a GGUF control vector"):
            load_vector(tmp_path / "cut.gguf")
    (tmp_path / "notes.gguf").write_text("hello there")
    with pytest.raises(VectorError, match=r"notes\.gguf: not a vector file \(expected a GGUF control vector"):
        load_vector(tmp_path / "notes.gguf")
    with pytest.raises(VectorError, match=r"vector file not found: .*missing\.gguf"):
        load_vector(tmp_path / "missing.gguf")


def test_a_model_file_is_not_a_vector_and_is_refused_fast() -> None:
    started = time.perf_counter()
    with pytest.raises(VectorError, match=r"general\.architecture is 'llama', expected 'controlvector'"):
        load_vector(embedded_model_path())
    assert time.perf_counter() - started < 1.0


def test_bad_ds4_files_are_refused(tmp_path: Path) -> None:
    save_vector(make_vector((1,), op=SteeringOp.PROJECT_OUT, site="ffn_out"), tmp_path / "d.f32")
    sidecar = tmp_path / "d.json"
    good = json.loads(sidecar.read_text())
    (tmp_path / "d.f32").write_bytes((tmp_path / "d.f32").read_bytes()[:-4])
    with pytest.raises(VectorError, match=r"d\.f32: 188 bytes, expected n_layer × n_embd × 4 = 6 × 8 × 4 = 192"):
        load_vector(tmp_path / "d.f32")
    save_vector(make_vector((1,), op=SteeringOp.PROJECT_OUT, site="ffn_out"), tmp_path / "d.f32")
    bad_sidecars = {
        "rudder.meta: op: Input should be 'add', 'project-out' or 'ablate'": {
            **good,
            "rudder": {**good["rudder"], "meta": {**good["rudder"]["meta"], "op": "multiply"}},
        },
        "unknown site \\(component\\) 'embeddings'": {**good, "component": "embeddings"},
        "component 'attn_out' disagrees with rudder.meta site 'ffn_out'": {**good, "component": "attn_out"},
        "format is 'ds5', expected 'ds4-directional-steering-v1'": {**good, "format": "ds5"},
        "shape is \\[6\\], expected \\[n_layer, n_embd\\]": {**good, "shape": [6]},
    }
    for message, content in bad_sidecars.items():
        sidecar.write_text(json.dumps(content))
        with pytest.raises(VectorError, match=rf"d\.json: {message}"):
            load_vector(tmp_path / "d.f32")
    sidecar.unlink()
    with pytest.raises(VectorError, match=r"d\.f32: the ds4 sidecar d\.json is missing"):
        load_vector(tmp_path / "d.f32")


def test_unknown_op_or_site_in_gguf_metadata_is_refused(tmp_path: Path) -> None:
    row = {"direction.1": np.ones(N_EMBD, np.float32)}
    twist = {"name": "x", "model": MODEL.model_dump(), "op": "twist"}
    cases = {
        "rudder\\.meta: op: Input should be 'add', 'project-out' or 'ablate'": {
            "rudder__format_version": 1,
            "rudder__meta": json.dumps(twist),
        },
        "rudder\\.meta: unknown site 'l_out-3'": {
            "rudder__format_version": 1,
            "rudder__meta": json.dumps({"name": "x", "model": MODEL.model_dump(), "site": "l_out-3"}),
        },
        "rudder\\.format_version is 2; this Rudder reads version 1": {
            "rudder__format_version": 2,
            "rudder__meta": json.dumps({"name": "x", "model": MODEL.model_dump()}),
        },
        "unknown op glp\\.mode 'steer'": {"glp__mode": "steer"},
        "unknown site glp\\.hook_point 'embeddings'": {"glp__mode": "project", "glp__hook_point": "embeddings"},
        "glp\\.spec_version is 2": {"glp__spec_version": 2, "glp__mode": "project"},
    }
    for number, (message, keys) in enumerate(cases.items()):
        path = write_gguf(tmp_path / f"bad{number}.gguf", row, **keys)
        with pytest.raises(VectorError, match=rf"bad{number}\.gguf: {message}"):
            load_vector(path)


def test_a_stray_tensor_is_refused_as_llama_cpp_would(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "stray.gguf", {"direction.1": np.ones(4, np.float32), "bias": np.ones(4, np.float32)})
    with pytest.raises(VectorError, match=r"stray\.gguf: tensor 'bias' is not named direction\.<layer>"):
        load_vector(path)


# -- model identity ------------------------------------------------------------------------------------
