"""Vector files: exact round trips in every format, the llama.cpp / cvector-generator / repeng / ds4
conventions, and model identity. No model is loaded; the real SmolLM2 GGUF is only read for its header."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest

from rudder.engine.gguf_header import model_identity, read_gguf_header
from rudder.engine.model_file import embedded_model_path
from rudder.vectors.files.formats import (
    VectorFormat,
    detect_format,
    load_ds4,
    load_llama,
    load_rudder,
    load_vector,
    model_identity_from_gguf,
    save_ds4,
    save_llama,
    save_vector,
)
from rudder.vectors.vector import ModelIdentity, SteeringOp, VectorError
from tests.vectors.format_samples import (
    MODEL,
    N_EMBD,
    N_LAYER,
    assert_same_data,
    make_vector,
    write_ds4_like_build_direction,
    write_gguf,
)


@pytest.mark.parametrize(
    ("fmt", "filename", "vector_args"),
    [
        (VectorFormat.RUDDER, "v.gguf", {}),
        (VectorFormat.RUDDER, "v0.gguf", {"layers": (0, 3, 5), "op": SteeringOp.ABLATE, "site": "ffn_out"}),
        (VectorFormat.DS4, "v.f32", {"layers": (0, 3, 5), "op": SteeringOp.PROJECT_OUT, "site": "ffn_out"}),
        (VectorFormat.DS4, "v.json", {"layers": (2,), "op": SteeringOp.ABLATE, "site": "attn_out"}),
    ],
)
def test_round_trip_restores_data_and_metadata_exactly(
    tmp_path: Path, fmt: VectorFormat, filename: str, vector_args: dict[str, Any]
) -> None:
    vector = make_vector(**vector_args)
    save_vector(vector, tmp_path / filename, fmt)
    for loaded in (load_vector(tmp_path / filename), load_vector(tmp_path / filename, model=MODEL)):
        assert_same_data(vector, loaded)
        assert loaded.meta == vector.meta


def test_llama_format_round_trips_data_and_metadata(tmp_path: Path) -> None:
    """Rudder's llama export carries its metadata in a key llama.cpp ignores (layer 0 it cannot carry)."""
    vector = make_vector()
    save_vector(vector, tmp_path / "v.gguf", VectorFormat.LLAMA)
    for loaded in (load_vector(tmp_path / "v.gguf", model=MODEL), load_vector(tmp_path / "v.gguf")):
        assert_same_data(vector, loaded)
        assert loaded.meta == vector.meta


def test_a_plain_llama_file_carries_direction_hint_and_layer_count_only(tmp_path: Path) -> None:
    rows = {"direction.1": np.ones(N_EMBD, np.float32), "direction.4": -np.ones(N_EMBD, np.float32)}
    path = write_gguf(tmp_path / "plain.gguf", rows, controlvector__model_hint="llama", controlvector__layer_count=2)
    with_model = load_vector(path, model=MODEL)
    assert (with_model.meta.name, with_model.meta.model, with_model.meta.method) == ("plain", MODEL, "imported:llama")
    alone = load_vector(path)
    assert alone.meta.model == ModelIdentity(architecture="llama", n_embd=N_EMBD, n_layer=5)  # highest direction + 1
    assert (alone.meta.op, alone.meta.site, alone.meta.layer_norms) == (SteeringOp.ADD, "l_out", {})


def test_rudder_file_follows_llama_cpp_control_vector_rules(tmp_path: Path) -> None:
    vector = make_vector((0, 1, 2, 4))
    save_vector(vector, tmp_path / "v.gguf")
    reader = gguf.GGUFReader(str(tmp_path / "v.gguf"))
    assert reader.fields["general.architecture"].contents() == "controlvector"
    assert reader.fields["controlvector.model_hint"].contents() == "llama"
    assert reader.fields["controlvector.layer_count"].contents() == N_LAYER - 1  # the model's steerable layers
    # llama.cpp refuses a file with any other tensor, with direction.0, non-F32 or non-1-D tensors
    tensors = {t.name: (t.tensor_type, t.data.shape) for t in reader.tensors}
    assert tensors == {f"direction.{n}": (gguf.GGMLQuantizationType.F32, (N_EMBD,)) for n in (1, 2, 4)}
    plain = load_llama(tmp_path / "v.gguf", model=MODEL)  # the plain loader ignores rudder.*
    assert_same_data(vector.select_layers([1, 2, 4]), plain)
    assert load_rudder(tmp_path / "v.gguf").layers == [0, 1, 2, 4]  # layer 0 rides in rudder.direction.0


def test_project_out_vectors_state_their_op_and_site_for_glp_readers(tmp_path: Path) -> None:
    save_vector(make_vector(op=SteeringOp.PROJECT_OUT, site="ffn_out"), tmp_path / "p.gguf", VectorFormat.LLAMA)
    reader = gguf.GGUFReader(str(tmp_path / "p.gguf"))
    assert reader.fields["glp.mode"].contents() == "project"
    assert reader.fields["glp.hook_point"].contents() == "ffn_out_pre_residual"
    loaded = load_vector(tmp_path / "p.gguf")
    assert (loaded.meta.op, loaded.meta.site) == (SteeringOp.PROJECT_OUT, "ffn_out")


def test_cvector_generator_files_are_shifted_back_one_layer(tmp_path: Path) -> None:
    # llama-cvector-generator reads l_out-il for il in 0..n_layer-2 and names it direction.{il+1}
    captured = {il: np.full(N_EMBD, il + 0.5, np.float32) for il in range(N_LAYER - 1)}
    path = write_gguf(
        tmp_path / "control_vector.gguf",
        {f"direction.{il + 1}": data for il, data in captured.items()},
        controlvector__model_hint="llama",
        controlvector__layer_count=("add_int32", N_LAYER - 1),
    )
    as_applied = load_vector(path)
    assert as_applied.layers == [1, 2, 3, 4, 5] and as_applied.meta.model.n_layer == N_LAYER
    as_captured = load_vector(path, model=MODEL, from_cvector_generator=True)
    assert as_captured.layers == [0, 1, 2, 3, 4] and as_captured.meta.method == "imported:cvector-generator"
    assert all(np.array_equal(as_captured.directions[il], captured[il]) for il in captured)
    save_vector(as_captured, tmp_path / "fixed.gguf")  # layer 0 survives in Rudder's format
    assert_same_data(as_captured, load_vector(tmp_path / "fixed.gguf"))
    with pytest.raises(VectorError, match=r"fixed\.gguf: is a rudder vector; only plain control vectors"):
        load_vector(tmp_path / "fixed.gguf", from_cvector_generator=True)


def test_repeng_files_with_a_hugging_face_model_type_load(tmp_path: Path) -> None:
    # repeng: uint32 layer_count, model_hint = HF model_type, direction.{HF layer} = block index
    path = write_gguf(
        tmp_path / "repeng.gguf",
        {"direction.3": np.ones(N_EMBD, np.float32), "direction.4": -np.ones(N_EMBD, np.float32)},
        controlvector__model_hint="mistral",
        controlvector__layer_count=2,
    )
    vector = load_vector(path, model=MODEL)
    assert vector.layers == [3, 4] and vector.meta.model.architecture == "llama"


def test_ds4_files_are_written_as_build_direction_writes_them(tmp_path: Path) -> None:
    vector = make_vector((1, 4), op=SteeringOp.PROJECT_OUT, site="ffn_out")
    save_ds4(vector, tmp_path / "verbosity.f32")
    sidecar = json.loads((tmp_path / "verbosity.json").read_text())
    assert sidecar["format"] == "ds4-directional-steering-v1"
    assert (sidecar["shape"], sidecar["component"]) == ([N_LAYER, N_EMBD], "ffn_out")
    rows = np.fromfile(tmp_path / "verbosity.f32", dtype="<f4").reshape(N_LAYER, N_EMBD)
    assert np.array_equal(rows[4], vector.directions[4]) and not rows[0].any()


def test_ds4_files_from_ds4_itself_load_as_project_out(tmp_path: Path) -> None:
    rows = np.random.default_rng(1).standard_normal((N_LAYER, N_EMBD)).astype(np.float32)
    rows[0] = 0.0  # a layer ds4 would leave untouched
    write_ds4_like_build_direction(tmp_path / "refusal", rows, component="attn_out")
    vector = load_vector(tmp_path / "refusal.f32", model=MODEL)
    assert (vector.meta.op, vector.meta.site, vector.meta.method) == (
        SteeringOp.PROJECT_OUT,
        "attn_out",
        "imported:ds4",
    )
    assert vector.layers == [1, 2, 3, 4, 5] and np.array_equal(vector.directions[3], rows[3])
    assert (vector.meta.model.architecture, vector.meta.model.name) == ("llama", "ds4flash.gguf")
    assert load_ds4(tmp_path / "refusal.json").meta.model.architecture == "unknown"


def test_save_vector_picks_and_checks_the_format_by_extension(tmp_path: Path) -> None:
    save_vector(make_vector(op=SteeringOp.PROJECT_OUT, site="ffn_out"), tmp_path / "a.f32")
    save_vector(make_vector(), tmp_path / "b.gguf")
    assert detect_format(tmp_path / "a.json") == VectorFormat.DS4
    assert detect_format(tmp_path / "b.gguf") == VectorFormat.RUDDER
    with pytest.raises(VectorError, match=r"c\.f32: a llama vector is a GGUF file"):
        save_vector(make_vector(), tmp_path / "c.f32", VectorFormat.LLAMA)


# -- refusals when writing -----------------------------------------------------------------------------


def test_formats_refuse_what_they_cannot_express(tmp_path: Path) -> None:
    with pytest.raises(VectorError, match=r"l0\.gguf: llama\.cpp refuses a control vector with direction\.0"):
        save_llama(make_vector((0, 1)), tmp_path / "l0.gguf")
    with pytest.raises(VectorError, match=r"add\.f32: ds4 only projects directions out"):
        save_ds4(make_vector(site="ffn_out"), tmp_path / "add.f32")
    with pytest.raises(VectorError, match=r"site\.f32: ds4 steers only ffn_out or attn_out, not site 'l_out'"):
        save_ds4(make_vector(op=SteeringOp.PROJECT_OUT), tmp_path / "site.f32")
    nan = make_vector()
    nan.directions[2][3] = np.nan
    with pytest.raises(VectorError, match=r"nan\.gguf 'demo': layer 2 contains NaN"):
        save_vector(nan, tmp_path / "nan.gguf")
    assert not list(tmp_path.iterdir())  # nothing half-written left behind


# -- refusals when reading -----------------------------------------------------------------------------


def test_model_identity_of_the_embedded_model() -> None:
    path = embedded_model_path()
    started = time.perf_counter()
    identity = model_identity_from_gguf(path)
    assert time.perf_counter() - started < 1.0
    assert (identity.architecture, identity.n_embd, identity.n_layer) == ("llama", 576, 30)
    assert identity.name and len(identity.layout_hash) == 64
    assert model_identity_from_gguf(path) == identity == model_identity(read_gguf_header(path))  # the engine's


def test_layout_hash_ignores_quantisation_but_not_layout(tmp_path: Path) -> None:
    def tiny_model(name: str, dtype: type, width: int = 4) -> ModelIdentity:
        path = write_gguf(
            tmp_path / name,
            {"token_embd.weight": np.ones((3, width), dtype), "blk.0.ffn_up.weight": np.ones((width, 2), dtype)},
            arch="llama",
            llama__embedding_length=width,
            llama__block_count=1,
        )
        return model_identity_from_gguf(path)

    f32 = tiny_model("f32.gguf", np.float32)
    assert tiny_model("f16.gguf", np.float16).layout_hash == f32.layout_hash
    assert tiny_model("wide.gguf", np.float32, width=6).layout_hash != f32.layout_hash


def test_model_identity_refuses_files_that_are_not_models(tmp_path: Path) -> None:
    with pytest.raises(VectorError, match=r"model file not found: .*nothing\.gguf"):
        model_identity_from_gguf(tmp_path / "nothing.gguf")
    (tmp_path / "text.gguf").write_text("not a model")
    with pytest.raises(VectorError, match=r"text\.gguf: not a GGUF file \(bad magic\); expected a GGUF model"):
        model_identity_from_gguf(tmp_path / "text.gguf")
    with embedded_model_path().open("rb") as model:
        (tmp_path / "half.gguf").write_bytes(model.read(10_000_000))
    with pytest.raises(VectorError, match=r"half\.gguf: tensor data is missing.*truncated"):
        model_identity_from_gguf(tmp_path / "half.gguf")
    save_vector(make_vector(), tmp_path / "v.gguf")
    with pytest.raises(VectorError, match=r"v\.gguf: is a control vector, not a model"):
        model_identity_from_gguf(tmp_path / "v.gguf")
