"""Vector files: exact round trips in every format, llama.cpp conventions, and one clear error per bad file."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
import pytest

from rudder.agent.gguf_header import model_identity, read_gguf_header
from rudder.agent.model_file import embedded_model_path
from rudder.vectors.formats import DS4_FORMAT, VectorFormat, load_vector, save_vector
from rudder.vectors.vector import ModelIdentity, SteeringOp, SteeringVector, VectorError, VectorMeta

MODEL = ModelIdentity(architecture="llama", name="tiny", n_embd=8, n_layer=6, layout_hash="ab" * 32)
OTHER = ModelIdentity(architecture="llama", name="other", n_embd=8, n_layer=6, layout_hash="cd" * 32)


def make_vector(
    layers: tuple[int, ...] = (1, 2, 4), op: SteeringOp = SteeringOp.ADD, site: str = "l_out"
) -> SteeringVector:
    rng = np.random.default_rng(0)
    meta = VectorMeta(
        name="demo",
        description="a demo",
        model=MODEL,
        site=site,
        op=op,
        method="mean-diff",
        dataset="d",
        dataset_hash="00" * 32,
        layer_norms={layer: 10.0 + layer for layer in layers},
    )
    return SteeringVector(meta, {layer: rng.standard_normal(8).astype(np.float32) for layer in layers})


def assert_same(a: SteeringVector, b: SteeringVector) -> None:
    assert a.layers == b.layers
    for layer in a.layers:
        assert np.array_equal(a.directions[layer], b.directions[layer])


def test_rudder_format_round_trips_data_and_metadata(tmp_path: Path) -> None:
    vector = make_vector()
    save_vector(vector, tmp_path / "v.gguf")
    loaded = load_vector(tmp_path / "v.gguf", model=MODEL)
    assert_same(vector, loaded)
    assert loaded.meta == vector.meta


def test_rudder_format_is_a_plain_llama_control_vector(tmp_path: Path) -> None:
    save_vector(make_vector(), tmp_path / "v.gguf")
    reader = gguf.GGUFReader(str(tmp_path / "v.gguf"))
    arch = reader.fields["general.architecture"]
    assert bytes(arch.parts[arch.data[0]]).decode() == "controlvector"
    hint = reader.fields["controlvector.model_hint"]
    assert bytes(hint.parts[hint.data[0]]).decode() == "llama"
    names = {t.name: (t.tensor_type, t.data.shape) for t in reader.tensors}
    assert names == {f"direction.{n}": (gguf.GGMLQuantizationType.F32, (8,)) for n in (1, 2, 4)}


def test_llama_format_round_trips_data(tmp_path: Path) -> None:
    vector = make_vector()
    save_vector(vector, tmp_path / "v.gguf", VectorFormat.LLAMA)
    loaded = load_vector(tmp_path / "v.gguf", model=MODEL)
    assert_same(vector, loaded)
    assert loaded.meta.method == "imported:llama" and loaded.meta.model == MODEL


def test_cvector_generator_layers_are_shifted_back(tmp_path: Path) -> None:
    vector = make_vector((2, 3))
    save_vector(vector, tmp_path / "gen.gguf", VectorFormat.LLAMA)
    as_applied = load_vector(tmp_path / "gen.gguf")
    as_captured = load_vector(tmp_path / "gen.gguf", from_cvector_generator=True)
    assert as_applied.layers == [2, 3] and as_captured.layers == [1, 2]
    assert np.array_equal(as_captured.directions[1], vector.directions[2])


def test_ds4_round_trips_with_its_sidecar(tmp_path: Path) -> None:
    vector = make_vector((0, 3, 5), op=SteeringOp.PROJECT_OUT, site="ffn_out")
    save_vector(vector, tmp_path / "dir.f32", VectorFormat.DS4)
    sidecar = json.loads((tmp_path / "dir.f32.json").read_text())
    assert sidecar["format"] == DS4_FORMAT and sidecar["op"] == "project-out" and sidecar["site"] == "ffn_out"
    assert (tmp_path / "dir.f32").stat().st_size == 6 * 8 * 4
    loaded = load_vector(tmp_path / "dir.f32", model=MODEL)
    assert_same(vector, loaded)
    assert (loaded.meta.op, loaded.meta.site) == (SteeringOp.PROJECT_OUT, "ffn_out")


def test_wrong_n_embd_is_refused(tmp_path: Path) -> None:
    save_vector(make_vector(), tmp_path / "v.gguf")
    wide = MODEL.model_copy(update={"n_embd": 16})
    with pytest.raises(VectorError, match=r"v\.gguf: n_embd is 8, the loaded model has n_embd 16"):
        load_vector(tmp_path / "v.gguf", model=wide)


def test_layers_of_different_width_are_refused(tmp_path: Path) -> None:
    writer = gguf.GGUFWriter(str(tmp_path / "mixed.gguf"), "controlvector")
    writer.add_tensor("direction.1", np.ones(8, np.float32))
    writer.add_tensor("direction.2", np.ones(9, np.float32))
    for step in (writer.write_header_to_file, writer.write_kv_data_to_file, writer.write_tensors_to_file, writer.close):
        step()
    with pytest.raises(VectorError, match=r"mixed\.gguf: layers have different n_embd \[8, 9\]"):
        load_vector(tmp_path / "mixed.gguf")


def test_nan_is_refused_on_save_and_load(tmp_path: Path) -> None:
    vector = make_vector()
    vector.directions[2][3] = np.nan
    with pytest.raises(VectorError, match="layer 2 contains NaN"):
        save_vector(vector, tmp_path / "nan.gguf")
    writer = gguf.GGUFWriter(str(tmp_path / "nan.gguf"), "controlvector")
    writer.add_tensor("direction.1", np.array([1.0, np.inf] * 4, np.float32))
    for step in (writer.write_header_to_file, writer.write_kv_data_to_file, writer.write_tensors_to_file, writer.close):
        step()
    with pytest.raises(VectorError, match=r"nan\.gguf.*layer 1 contains NaN or infinite"):
        load_vector(tmp_path / "nan.gguf")


def test_vector_for_another_model_is_refused(tmp_path: Path) -> None:
    save_vector(make_vector(), tmp_path / "v.gguf")
    with pytest.raises(VectorError, match=r"was made for tiny .*the loaded model is other"):
        load_vector(tmp_path / "v.gguf", model=OTHER)
    qwen = ModelIdentity(architecture="qwen2", n_embd=8, n_layer=6)
    with pytest.raises(VectorError, match="made for architecture 'llama', the loaded model is 'qwen2'"):
        load_vector(tmp_path / "v.gguf", model=qwen)


def test_truncated_and_foreign_files_are_refused(tmp_path: Path) -> None:
    save_vector(make_vector(), tmp_path / "v.gguf")
    data = (tmp_path / "v.gguf").read_bytes()
    (tmp_path / "cut.gguf").write_bytes(data[: len(data) // 2])
    with pytest.raises(VectorError, match=r"cut\.gguf: not a readable GGUF control vector \(truncated"):
        load_vector(tmp_path / "cut.gguf")
    (tmp_path / "notes.gguf").write_text("hello")
    with pytest.raises(VectorError, match=r"notes\.gguf: not a vector file"):
        load_vector(tmp_path / "notes.gguf")
    with pytest.raises(VectorError, match="vector file not found"):
        load_vector(tmp_path / "missing.gguf")


def test_a_model_file_is_not_a_vector() -> None:
    with pytest.raises(VectorError, match="general.architecture is 'llama', expected 'controlvector'"):
        load_vector(embedded_model_path())


def test_bad_ds4_files_are_refused(tmp_path: Path) -> None:
    save_vector(make_vector((1,)), tmp_path / "d.f32", VectorFormat.DS4)
    sidecar = tmp_path / "d.f32.json"
    good = json.loads(sidecar.read_text())
    (tmp_path / "d.f32").write_bytes((tmp_path / "d.f32").read_bytes()[:-4])
    with pytest.raises(VectorError, match=r"d\.f32: 188 bytes, expected n_layer × n_embd × 4"):
        load_vector(tmp_path / "d.f32")
    save_vector(make_vector((1,)), tmp_path / "d.f32", VectorFormat.DS4)
    sidecar.write_text(json.dumps({**good, "op": "multiply"}))
    with pytest.raises(VectorError, match="unknown op 'multiply'"):
        load_vector(tmp_path / "d.f32")
    sidecar.write_text(json.dumps({**good, "site": "embeddings"}))
    with pytest.raises(VectorError, match="unknown site 'embeddings'"):
        load_vector(tmp_path / "d.f32")
    sidecar.unlink()
    with pytest.raises(VectorError, match="sidecar d.f32.json is missing"):
        load_vector(tmp_path / "d.f32")


def test_bad_rudder_metadata_is_refused(tmp_path: Path) -> None:
    writer = gguf.GGUFWriter(str(tmp_path / "meta.gguf"), "controlvector")
    writer.add_string("rudder.meta", json.dumps({"name": "x", "model": MODEL.model_dump(), "op": "twist"}))
    writer.add_tensor("direction.1", np.ones(8, np.float32))
    for step in (writer.write_header_to_file, writer.write_kv_data_to_file, writer.write_tensors_to_file, writer.close):
        step()
    with pytest.raises(VectorError, match=r"meta\.gguf: rudder\.meta op: Input should be 'add', 'project-out'"):
        load_vector(tmp_path / "meta.gguf")


def test_model_identity_ignores_quantisation_but_not_layout() -> None:
    header = read_gguf_header(embedded_model_path())
    identity = model_identity(header)
    assert (identity.architecture, identity.n_embd, identity.n_layer) == ("llama", 576, 30)
    for tensor in header.tensors:
        tensor.ggml_type = 0  # as if it were an F32 file of the same model
    assert model_identity(header).layout_hash == identity.layout_hash
    header.tensors.pop()
    assert model_identity(header).layout_hash != identity.layout_hash
