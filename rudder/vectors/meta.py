"""A vector's metadata and its error type, without numpy: `rudder vectors show` and the library
listing read them from a file's header without loading the directions' machinery.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from rudder.engine.identity import ModelIdentity
from rudder.vectors.kinds import SteeringOp

__all__ = ["ModelIdentity", "SteeringOp", "VectorError", "VectorMeta"]


class VectorError(ValueError):
    """A vector (or vector file) is unusable; the message names the file/field and what was expected."""


class VectorMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    model: ModelIdentity
    site: str = Field("l_out", description="graph node prefix the direction applies to: l_out, ffn_out, ...")
    op: SteeringOp = SteeringOp.ADD
    method: str = Field("unknown", description="mean-diff, pca, imported:<format>, arithmetic")
    dataset: str | None = None
    dataset_hash: str | None = None
    layer_norms: dict[int, float] = Field(
        default_factory=dict, description="mean residual norm at the site per layer (for relative scale)"
    )
    weights: str = Field("native", description="what capture read: the model's own weights, or an f16/bf16 copy")
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
