"""Which model a thing (a vector, a trajectory) belongs to, independent of quantisation."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ModelIdentity(BaseModel):
    """Which model a vector was made for. `layout_hash` ignores quantisation: Q4 and F16 of one model match."""

    model_config = ConfigDict(extra="forbid")

    architecture: str
    name: str = ""
    n_embd: int
    n_layer: int
    layout_hash: str = ""  # sha256 of architecture + tensor names and shapes; "" = unknown
