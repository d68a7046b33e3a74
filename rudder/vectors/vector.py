"""`SteeringVector`: one direction per layer plus the metadata that says where it belongs.

Layer numbering (decided once, used everywhere): layer `i` is llama.cpp's block index `il`, the
block whose output graph node is `l_out-i` (0-based). A direction stored for layer i is applied at
the output of block i. That is exactly what llama.cpp's control vectors do with `direction.i`
(llama_set_adapter_cvec's data row i-1), so Rudder's GGUF files load unchanged in
`llama-cli --control-vector`. llama.cpp can not steer layer 0 natively; Rudder's hook can.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

from rudder.engine.identity import ModelIdentity
from rudder.vectors.kinds import SteeringOp
from rudder.vectors.meta import VectorError, VectorMeta

__all__ = ["ModelIdentity", "SteeringOp", "SteeringVector", "VectorError", "VectorMeta", "sha256_bytes"]


class SteeringVector:
    """Per-layer directions (float32, n_embd each) with metadata. Supports `2 * v`, `v - w`, `-v`."""

    def __init__(self, meta: VectorMeta, directions: dict[int, np.ndarray]) -> None:
        self.meta = meta
        self.directions = {int(k): np.asarray(v, dtype=np.float32) for k, v in sorted(directions.items())}
        self.validate()

    @property
    def layers(self) -> list[int]:
        return list(self.directions)

    @property
    def n_embd(self) -> int:
        return self.meta.model.n_embd

    def validate(self, source: str = "vector") -> None:
        where = f"{source} {self.meta.name!r}"
        if not self.directions:
            raise VectorError(f"{where}: has no layers")
        for layer, direction in self.directions.items():
            if not 0 <= layer < self.meta.model.n_layer:
                raise VectorError(f"{where}: layer {layer} is outside the model's 0..{self.meta.model.n_layer - 1}")
            if direction.shape != (self.n_embd,):
                raise VectorError(
                    f"{where}: layer {layer} has shape {direction.shape}, expected ({self.n_embd},) "
                    f"(n_embd of {self.meta.model.name or self.meta.model.architecture})"
                )
            if not np.all(np.isfinite(direction)):
                raise VectorError(f"{where}: layer {layer} contains NaN or infinite values")

    def check_model(self, model: ModelIdentity, source: str = "vector") -> None:
        """Refuse a vector made for another model (architecture, size or tensor layout)."""
        mine = self.meta.model
        where = f"{source} {self.meta.name!r}"
        if mine.architecture != model.architecture:
            raise VectorError(
                f"{where} was made for architecture {mine.architecture!r}, the loaded model is {model.architecture!r}"
            )
        if (mine.n_embd, mine.n_layer) != (model.n_embd, model.n_layer):
            raise VectorError(
                f"{where} was made for n_embd={mine.n_embd}, n_layer={mine.n_layer}; "
                f"the loaded model has n_embd={model.n_embd}, n_layer={model.n_layer}"
            )
        if mine.layout_hash and model.layout_hash and mine.layout_hash != model.layout_hash:
            raise VectorError(
                f"{where} was made for {mine.name or 'another model'} (layout {mine.layout_hash[:12]}), "
                f"the loaded model is {model.name} (layout {model.layout_hash[:12]})"
            )

    def unit(self, layer: int) -> np.ndarray:
        direction = self.directions[layer]
        norm = float(np.linalg.norm(direction))
        if norm == 0.0:
            raise VectorError(f"vector {self.meta.name!r}: layer {layer} is the zero vector")
        return direction / norm

    def push_length(self, layer: int, scale: float, *, relative: bool) -> float:
        """How long the push of an additive op at `layer` is, along `unit(layer)` (negative: the other way).

        raw:      scale * |d|                  (d as stored)
        relative: scale * mean_norm[layer]     (1.0 = a push as long as the typical residual)
        """
        if not relative:
            return scale * float(np.linalg.norm(self.directions[layer]))
        norm = self.meta.layer_norms.get(layer)
        if not norm:
            raise VectorError(
                f"vector {self.meta.name!r} has no residual norm for layer {layer}; "
                "use a raw scale or re-extract it with Rudder"
            )
        return scale * norm

    # -- arithmetic ---------------------------------------------------------------------------------

    def _combine(self, other: SteeringVector, sign: float) -> SteeringVector:
        if other.meta.model.n_embd != self.n_embd or other.meta.site != self.meta.site:
            raise VectorError(f"cannot combine {self.meta.name!r} and {other.meta.name!r}: different n_embd or site")
        layers = sorted(set(self.directions) | set(other.directions))
        zero = np.zeros(self.n_embd, np.float32)
        directions = {
            layer: self.directions.get(layer, zero) + sign * other.directions.get(layer, zero) for layer in layers
        }
        op = "+" if sign > 0 else "-"
        meta = self.meta.model_copy(
            update={"name": f"({self.meta.name} {op} {other.meta.name})", "method": "arithmetic"}
        )
        return SteeringVector(meta, directions)

    def __add__(self, other: SteeringVector) -> SteeringVector:
        return self._combine(other, 1.0)

    def __sub__(self, other: SteeringVector) -> SteeringVector:
        return self._combine(other, -1.0)

    def __mul__(self, factor: float) -> SteeringVector:
        meta = self.meta.model_copy(update={"name": f"{factor:g}*{self.meta.name}"})
        return SteeringVector(meta, {k: v * np.float32(factor) for k, v in self.directions.items()})

    __rmul__ = __mul__

    def __neg__(self) -> SteeringVector:
        return self * -1.0

    def select_layers(self, layers: Iterable[int]) -> SteeringVector:
        wanted = set(layers)
        missing = wanted - set(self.directions)
        if missing:
            raise VectorError(f"vector {self.meta.name!r} has no layers {sorted(missing)}")
        return SteeringVector(self.meta, {k: v for k, v in self.directions.items() if k in wanted})

    def __repr__(self) -> str:
        return f"SteeringVector({self.meta.name!r}, layers={self.layers}, site={self.meta.site})"


def random_like(vector: SteeringVector, name: str, layers: Iterable[int], seed: int) -> SteeringVector:
    """A control: a random unit direction per layer, with `vector`'s model and metadata (method "random")."""
    rng = np.random.default_rng(seed)
    directions = {}
    for layer in layers:
        v = rng.standard_normal(vector.n_embd).astype(np.float32)
        directions[layer] = v / np.linalg.norm(v)
    return SteeringVector(vector.meta.model_copy(update={"name": name, "method": "random"}), directions)


def sha256_bytes(*chunks: bytes) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()
