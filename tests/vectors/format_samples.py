"""Sample vectors and hand-written vector files shared by the format tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gguf
import numpy as np

from rudder.vectors.files.formats import (
    DS4_FORMAT,
)
from rudder.vectors.vector import ModelIdentity, SteeringOp, SteeringVector, VectorMeta

N_EMBD, N_LAYER = 8, 6
MODEL = ModelIdentity(architecture="llama", name="tiny", n_embd=N_EMBD, n_layer=N_LAYER, layout_hash="ab" * 32)


def make_vector(
    layers: tuple[int, ...] = (1, 2, 4), op: SteeringOp = SteeringOp.ADD, site: str = "l_out"
) -> SteeringVector:
    rng = np.random.default_rng(0)
    meta = VectorMeta(
        name="demo",
        description="a demo, with ünïcode",
        model=MODEL,
        site=site,
        op=op,
        method="mean-diff",
        dataset="d.jsonl",
        dataset_hash="00" * 32,
        layer_norms={layer: 10.0 + layer / 3 for layer in layers},
    )
    return SteeringVector(meta, {layer: rng.standard_normal(N_EMBD).astype(np.float32) for layer in layers})


def assert_same_data(a: SteeringVector, b: SteeringVector) -> None:
    assert a.layers == b.layers
    assert all(np.array_equal(a.directions[layer], b.directions[layer]) for layer in a.layers)


def write_gguf(path: Path, tensors: dict[str, np.ndarray], **keys: Any) -> Path:
    """A control-vector GGUF written by hand, as other tools write them."""
    writer = gguf.GGUFWriter(str(path), keys.pop("arch", "controlvector"))
    for key, value in keys.items():
        name = key.replace("__", ".")
        if isinstance(value, str):
            writer.add_string(name, value)
        elif isinstance(value, tuple):  # (gguf adder name, value)
            getattr(writer, value[0])(name, value[1])
        else:
            writer.add_uint32(name, value)
    for name, data in tensors.items():
        writer.add_tensor(name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def write_ds4_like_build_direction(stem: Path, rows: np.ndarray, component: str = "ffn_out") -> None:
    """What antirez/ds4 dir-steering/tools/build_direction.py writes: NAME.json + NAME.f32."""
    payload = {
        "format": DS4_FORMAT,
        "shape": list(rows.shape),
        "component": component,
        "thinking": False,
        "pair_normalize": False,
        "orthogonalize_control_mean": True,
        "good_file": "examples/succinct.txt",
        "bad_file": "examples/verbose.txt",
        "model": "/models/ds4flash.gguf",
        "note": "runtime positive scale suppresses this direction; negative scale amplifies it",
    }
    stem.with_suffix(".json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    rows.astype("<f4").tofile(stem.with_suffix(".f32"))


# -- round trips ---------------------------------------------------------------------------------------
