"""Residual norms for vectors that do not carry them (llama.cpp / repeng control vectors).

A relative scale multiplies the layer's mean residual norm. That norm belongs to the model, not to the
vector: Rudder's extractor records it in the file (over the last-token rows of the dataset it read), a
plain control vector has none. Health checks and calibration measure it the same way on the prompts
they read, so a foreign vector gets the relative scales a Rudder one has.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rudder.vectors.extraction.capture import Capture, as_the_model_runs, capture
from rudder.vectors.vector import SteeringVector

if TYPE_CHECKING:
    from rudder.engine.engine import Engine


def missing_norms(vector: SteeringVector, layers: Sequence[int]) -> list[int]:
    """The layers among `layers` that have no recorded residual norm."""
    return [layer for layer in layers if not vector.meta.layer_norms.get(layer)]


def with_norms(vector: SteeringVector, norms: dict[int, float]) -> SteeringVector:
    """The vector with `norms` for the layers it has none for (recorded ones are kept)."""
    merged = {**{layer: float(n) for layer, n in norms.items()}, **vector.meta.layer_norms}
    return SteeringVector(vector.meta.model_copy(update={"layer_norms": merged}), vector.directions)


def norms_of(*captures: Capture) -> dict[int, float]:
    """Mean L2 norm per layer over every row of the captures (as extraction computes layer_norms)."""
    layers = captures[0].layers
    total = {layer: 0.0 for layer in layers}
    rows = 0
    for found in captures:
        n = len(found.data[layers[0]])
        for layer, norm in found.norms().items():
            total[layer] += norm * n
        rows += n
    return {layer: value / rows for layer, value in total.items()}


def measure_norms(engine: Engine, prompts: Sequence[str], layers: Sequence[int], site: str) -> dict[int, float]:
    """The model's mean residual norm per layer at `site`, over the prompts' last tokens."""
    return capture(engine, prompts, layers, site=site, weights=as_the_model_runs(engine)).norms()
