"""llama.cpp's `llama-cvector-generator --method mean`, computed the way it computes it.

What the generator does (tools/cvector-generator/cvector-generator.cpp and mean.hpp in llama.cpp):
- tokenizes each positive and negative prompt (BOS as the vocabulary says, special tokens parsed) and pads
  the shorter of the two at the end with the token of " " until both have the same length;
- evaluates each, recording `l_out-N` for every token at every layer but the last (llama.cpp computes
  the last layer only for the token it needs logits of, and the generator skips a node of another width);
- diffs positive minus negative token by token, and drops the rows that are all (near) zero: a row is
  kept when some element exceeds 1e-6. The prompts' common token prefix gives exactly zero rows there;
- per layer, averages all kept rows of all pairs, and scales the mean to unit length;
- writes the direction read after layer `il` as `direction.{il+1}` (one off from llama.cpp's own
  control-vector numbering, which Rudder follows: here it is layer `il`).

Rudder reads the same rows, several pairs per decode call (each pair's two prompts in the same call).
The common prefix is dropped explicitly: in one batch its rows differ by rounding, not by meaning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from rudder.engine.batch import common_length as common_prefix  # re-exported: tests and callers use this name
from rudder.vectors.extraction.capture import as_the_model_runs, capture_stream
from rudder.vectors.vector import VectorError

if TYPE_CHECKING:
    from rudder.engine.engine import Engine

ZERO_ROW_EPS = 1e-6  # cvector-generator's filter_nonzero_rows


def padded_pairs(engine: Engine, positives: Sequence[str], negatives: Sequence[str]) -> list[list[int]]:
    """[pos0, neg0, pos1, neg1, ...], each pair padded at the end to its longer length with " "."""
    pad = engine.tokenize(" ", special=False, add_bos=False)[-1]
    out: list[list[int]] = []
    for pos, neg in zip(positives, negatives, strict=True):
        a, b = engine.tokenize(pos), engine.tokenize(neg)
        length = max(len(a), len(b))
        out += [a + [pad] * (length - len(a)), b + [pad] * (length - len(b))]
    return out


def kept_rows(diff: np.ndarray, prefix: int) -> np.ndarray:
    """The rows cvector-generator keeps: past the common prefix, some element above 1e-6."""
    rows = diff[prefix:]
    return rows[(rows > ZERO_ROW_EPS).any(axis=1)]


def cvector_mean(
    engine: Engine,
    positives: Sequence[str],
    negatives: Sequence[str],
    layers: Sequence[int],
    *,
    site: str = "l_out",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[int, np.ndarray], dict[int, float]]:
    """Unit directions per layer, and the mean residual norm per layer (over every token read)."""
    last = engine.info.n_layer - 1
    if last in layers:
        raise VectorError(
            f"cvector-mean reads every token, but llama.cpp computes layer {last} (the last) only for the "
            f"final one; choose layers up to {last - 1}"
        )
    tokens = padded_pairs(engine, positives, negatives)
    n_embd = engine.info.n_embd
    sums = {layer: np.zeros(n_embd, np.float64) for layer in layers}
    counts = dict.fromkeys(layers, 0)
    norm_sums, norm_counts = dict.fromkeys(layers, 0.0), dict.fromkeys(layers, 0)
    # llama-cvector-generator's numbers, so its weights: the model's own
    weights = as_the_model_runs(engine)
    stream = capture_stream(engine, tokens, layers, site=site, rows="all", group=2, progress=progress, weights=weights)
    for indices, rows in stream:
        for k in range(0, len(indices), 2):
            prefix = common_prefix(tokens[indices[k]], tokens[indices[k + 1]])
            for layer in layers:
                pos, neg = rows[layer][k], rows[layer][k + 1]
                kept = kept_rows(pos - neg, prefix)
                sums[layer] += kept.sum(axis=0, dtype=np.float64)
                counts[layer] += kept.shape[0]
                norm_sums[layer] += float(np.linalg.norm(pos, axis=1).sum() + np.linalg.norm(neg, axis=1).sum())
                norm_counts[layer] += pos.shape[0] + neg.shape[0]
    directions: dict[int, np.ndarray] = {}
    for layer in layers:
        if counts[layer] == 0:
            raise VectorError(f"layer {layer}: every positive prompt equals its negative; nothing to diff")
        mean = sums[layer] / counts[layer]
        directions[layer] = (mean / np.linalg.norm(mean)).astype(np.float32)
    norms = {layer: norm_sums[layer] / norm_counts[layer] for layer in layers}
    return directions, norms
