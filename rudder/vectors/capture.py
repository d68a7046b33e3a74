"""Capture: record activations at chosen sites and layers while the model reads prompts.

Positions:
  last       the last prompt token (CAA: the state right before the model answers)
  mean       the mean over all prompt tokens
  all        every prompt token (a list of arrays, one per prompt)
  generated  the mean over tokens the model generates after the prompt (greedy, `gen_tokens` of them)
The hook is asked only for the nodes captured. llama.cpp computes the final layer only for the
tokens it needs logits of, so at the last layer "mean"/"all" see just the last token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from rudder.engine.generation import Sampling
from rudder.engine.hook import HookEntry, HookOp

if TYPE_CHECKING:  # keeps llama.cpp unloaded until an engine exists
    from rudder.engine.engine import Engine

Position = Literal["last", "mean", "all", "generated"]


@dataclass
class Capture:
    """Per layer: (n_prompts, n_embd) for last/mean/generated; a list of (n_tokens, n_embd) for all."""

    site: str
    layers: list[int]
    position: Position
    data: dict[int, np.ndarray | list[np.ndarray]] = field(default_factory=dict)

    def norms(self) -> dict[int, float]:
        """Mean L2 norm of the captured rows per layer (the scale reference for relative steering)."""
        result = {}
        for layer, rows in self.data.items():
            stacked = np.concatenate(rows) if isinstance(rows, list) else rows
            result[layer] = float(np.linalg.norm(stacked, axis=1).mean())
        return result


class _Recorder:
    def __init__(self, n_entries: int) -> None:
        self.chunks: list[list[np.ndarray]] = [[] for _ in range(n_entries)]

    def __call__(self, index: int, rows: np.ndarray) -> None:
        self.chunks[index].append(rows)

    def take(self) -> list[np.ndarray]:
        out = [np.concatenate(c) if c else np.empty((0, 0), np.float32) for c in self.chunks]
        self.chunks = [[] for _ in self.chunks]
        return out


def capture(
    engine: Engine,
    prompts: Sequence[str | Sequence[int]],
    layers: Sequence[int],
    *,
    site: str = "l_out",
    position: Position = "last",
    gen_tokens: int = 16,
    progress: Callable[[int, int], None] | None = None,
) -> Capture:
    layers = list(layers)
    result = Capture(site, layers, position)
    per_layer: dict[int, list[np.ndarray]] = {layer: [] for layer in layers}
    recorder = _Recorder(len(layers))
    adapter = engine.profile.sites  # multi-stream sites: one row per token, the mean of its streams
    # Active steering stays in the table, ahead of the captures: a capture sees the steered rows.
    steering = list(engine.hook.entries)
    entries = [*steering, *(HookEntry(f"{site}-{layer}", HookOp.CAPTURE) for layer in layers)]
    last = len(steering) + layers.index(max(layers))
    engine.hook.set_capture(_Offset(recorder, len(steering)))
    try:
        for done, prompt in enumerate(prompts, 1):
            tokens = engine.tokenize(prompt) if isinstance(prompt, str) else list(prompt)
            if position == "generated":
                engine.hook.set_entries(steering)  # the prompt itself is not recorded
                engine.prefill(tokens, reuse_cache=False)
                engine.hook.set_entries(entries)
                _generate(engine, tokens, gen_tokens)
            elif len(tokens) <= engine.n_ubatch:
                # Nothing after the deepest captured layer is needed: stop the graph there.
                engine.hook.set_entries(entries, abort_after=last)
                engine.evaluate_partial(tokens)
            else:
                engine.hook.set_entries(entries)
                engine.prefill(tokens, reuse_cache=False)
            for layer, rows in zip(layers, recorder.take(), strict=True):
                per_layer[layer].append(_reduce(adapter.token_rows(site, rows), position))
            if progress:
                progress(done, len(prompts))
    finally:
        engine.hook.set_entries(steering)
        engine.hook.set_capture(None)
    for layer, rows in per_layer.items():
        result.data[layer] = rows if position == "all" else np.stack(rows)
    return result


class _Offset:
    """Maps hook entry indices (steering entries first) to capture indices."""

    def __init__(self, recorder: _Recorder, offset: int) -> None:
        self.recorder, self.offset = recorder, offset

    def __call__(self, index: int, rows: np.ndarray) -> None:
        self.recorder(index - self.offset, rows)


def _reduce(rows: np.ndarray, position: Position) -> np.ndarray:
    if position == "last":
        return rows[-1]
    if position == "all":
        return rows
    return rows.mean(axis=0)


def _generate(engine: Engine, prompt: list[int], n: int) -> None:
    """Greedy continuation, capturing the generated tokens' rows (prefill already done)."""
    sampling = Sampling(temperature=0.0, max_tokens=n)
    for _ in engine.stream(prompt, sampling):
        pass
