"""Extraction: dataset → activations → one direction per layer → SteeringVector.

The maths are plain numpy functions of (positive, negative) activation matrices, so they are tested
without a model; `extract` wires them to the engine through `capture`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from rudder.util.layers import layer_spans
from rudder.vectors.extraction.capture import Position, capture
from rudder.vectors.extraction.cvector import cvector_mean
from rudder.vectors.extraction.dataset import Dataset, Prompt
from rudder.vectors.vector import SteeringOp, SteeringVector, VectorError, VectorMeta

if TYPE_CHECKING:  # keeps llama.cpp unloaded until an engine exists
    from rudder.engine.engine import Engine
    from rudder.engine.sites import Site

Method = Literal["mean-diff", "pca", "cvector-mean"]


def mean_difference(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """CAA: the mean of paired differences. Keeps its natural size (not normalised)."""
    return (positive - negative).mean(axis=0).astype(np.float32)


def pca_direction(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """First principal component of the paired differences, sign-corrected and sized.

    Uncentred on purpose: centring would subtract the mean difference, which is the very concept
    (it leaves only how strongly each pair expresses it). Sign: positives must project above negatives
    on average (repeng's correction). Size: the mean projection of the differences, so a PCA vector and
    a mean-diff vector have comparable magnitudes.
    """
    diffs = (positive - negative).astype(np.float64)
    _, _, vt = np.linalg.svd(diffs, full_matrices=False)
    unit = vt[0]
    if (positive @ unit).mean() < (negative @ unit).mean():
        unit = -unit
    size = float((diffs @ unit).mean())
    return (unit * size).astype(np.float32)


METHODS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "mean-diff": mean_difference,
    "pca": pca_direction,
}
# llama-cvector-generator's `--method mean`: every token diffed, unit length (see cvector.py).
ALL_METHODS = (*METHODS, "cvector-mean")


def check_capture_layers(sites: dict[str, Site], site: str, layers: Sequence[int]) -> None:
    """Refuse a site the model does not have, or layers it does not have there, naming the valid ones."""
    if site not in sites:
        raise VectorError(f"unknown site {site!r}; this model offers {', '.join(sorted(sites))}")
    if not layers:
        raise VectorError("no layers chosen; give --layers, e.g. 10-15")
    available = sites[site].layers
    missing = sorted(set(layers) - set(available))
    if missing:
        noun, verb = ("layers", "do") if len(missing) > 1 else ("layer", "does")
        raise VectorError(
            f"{noun} {layer_spans(missing)} {verb} not exist at site {site}; "
            f"this model has layers {layer_spans(available)}"
        )


def render_prompts(engine: Engine, prompts: Sequence[Prompt]) -> list[str]:
    """Chat prompts go through the model's template (ending where the assistant starts)."""
    return [p if isinstance(p, str) else engine.format_chat(p) for p in prompts]


def extract(
    engine: Engine,
    dataset: Dataset,
    layers: Sequence[int],
    *,
    method: Method = "mean-diff",
    site: str = "l_out",
    position: Position = "last",
    op: SteeringOp = SteeringOp.ADD,
    name: str | None = None,
    description: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> SteeringVector:
    if method not in ALL_METHODS:
        raise VectorError(f"unknown extraction method {method!r}; expected one of {', '.join(ALL_METHODS)}")
    if position == "all":
        raise VectorError("position 'all' keeps every token; extraction needs last, mean or generated")
    check_capture_layers(engine.sites, site, layers)
    if len(dataset) == 0:
        raise VectorError(f"dataset {dataset.name!r} has no pairs")
    layers = sorted(set(layers))
    positives, negatives = render_prompts(engine, dataset.positives), render_prompts(engine, dataset.negatives)
    if method == "cvector-mean":
        if position != "last":
            raise VectorError("cvector-mean reads every token of each prompt; --position does not apply to it")
        directions, norms = cvector_mean(engine, positives, negatives, layers, site=site, progress=progress)
    else:
        # Positives and negatives in one capture, so decode calls stay full.
        both = capture(engine, [*positives, *negatives], layers, site=site, position=position, progress=progress)
        n = len(dataset)
        directions = {
            layer: METHODS[method](both.data[layer][:n], both.data[layer][n:])  # type: ignore[index]
            for layer in layers
        }
        norms = both.norms()
    if op != SteeringOp.ADD:  # a direction to project out is a unit row (as ds4 writes them)
        directions = {layer: _unit(d) for layer, d in directions.items()}
    meta = VectorMeta(
        name=name or dataset.name,
        description=description,
        model=engine.info.identity,
        site=site,
        op=op,
        method=method,
        dataset=dataset.name,
        dataset_hash=dataset.sha256,
        layer_norms=norms,
        weights=engine.weights_read,
    )
    return SteeringVector(meta, directions)


def _unit(direction: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(direction))
    if norm == 0.0:
        raise VectorError("the positive and negative activations do not differ: no direction to project out")
    return (direction / norm).astype(np.float32)
