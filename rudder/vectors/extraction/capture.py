"""Capture: record activations at chosen sites and layers while the model reads prompts.

Positions:
  last       the last prompt token (CAA: the state right before the model answers)
  mean       the mean over all prompt tokens
  all        every prompt token (a list of arrays, one per prompt)
  generated  the mean over tokens the model generates after the prompt (greedy, `gen_tokens` of them)

Prompts are read several at a time: as many as fit one decode call (`engine.batch_context()`), each its
own sequence, so the CPU multiplies matrices instead of vectors. The hook is asked only for the nodes
captured, stops llama.cpp's graph right after the deepest one, and only the rows wanted are copied out
(each sequence's last token: picked in C; a mean: reduced here). Prompts that all begin alike in one
decode leave that stem in the KV cache for the next decode (batch.py), which then reads only the rest.
llama.cpp computes the final layer only for the tokens it needs logits of (each prompt's last), so at
the last layer "mean"/"all" see just the last token.
Prompts longer than one decode and "generated" go one at a time through the engine's own context (and
then every prompt of that run is read with the model's own weights, not a dense copy: engine/dense.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from rudder.engine.batch import BatchLayout, PrefixTrie
from rudder.engine.generation import Sampling
from rudder.engine.hook import HookEntry, HookOp
from rudder.vectors.vector import VectorError

if TYPE_CHECKING:  # keeps llama.cpp unloaded until an engine exists
    from rudder.engine.dense import Weights
    from rudder.engine.engine import Engine

# Architectures whose KV cache takes many sequences (and tokens shared between them) in one decode.
# Others read one prompt per decode: deepseek4's compressed cache, for one, aborts the process on a
# multi-sequence batch (a GGML_ASSERT in llama_kv_cache_dsv4::init_batch), and a crash cannot be caught.
BATCHED_ARCHITECTURES = frozenset({"llama", "mistral", "qwen2", "qwen3", "phi3", "granite"})

Position = Literal["last", "mean", "all", "generated"]
Rows = Literal["last", "mean", "all"]
Progress = Callable[[int, int], None]


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


def capture(
    engine: Engine,
    prompts: Sequence[str | Sequence[int]],
    layers: Sequence[int],
    *,
    site: str = "l_out",
    position: Position = "last",
    gen_tokens: int = 16,
    progress: Progress | None = None,
    batch: bool = True,
    weights: Weights | None = None,
) -> Capture:
    """Activations of every prompt at `site` for `layers`. `batch=False` reads one prompt per decode;
    `weights` as in capture_stream."""
    layers = list(layers)
    result = Capture(site, layers, position)
    tokens = [engine.tokenize(p) if isinstance(p, str) else list(p) for p in prompts]
    if position == "generated":
        engine.weights_read = "native"  # generated through the engine's own context
        per_prompt = _capture_generated(engine, tokens, layers, site, gen_tokens, progress)
    else:
        per_prompt = [None] * len(tokens)
        for indices, rows in capture_stream(
            engine, tokens, layers, site=site, rows=position, progress=progress, batch=batch, weights=weights
        ):
            for k, index in enumerate(indices):
                per_prompt[index] = [rows[layer][k] for layer in layers]
    for i, layer in enumerate(layers):
        column = [prompt[i] for prompt in per_prompt]  # type: ignore[index]
        result.data[layer] = column if position == "all" else np.stack(column)
    return result


def as_the_model_runs(engine: Engine) -> Weights | None:
    """ "native" unless a weights choice was made by name: for readings that judge the model as it runs
    (health checks) or must give another tool's numbers (cvector-mean). Bulk extraction takes `auto`."""
    return "native" if engine.config.capture_weights == "auto" else None


def check_site(engine: Engine, site: str, layers: Sequence[int]) -> None:
    """One clear error for a site or layer the running graph does not have."""
    known = engine.sites.get(site)
    if known is None:
        raise VectorError(f"unknown capture site {site!r}; this model offers: {', '.join(engine.sites) or 'none'}")
    missing = sorted(set(layers) - set(known.layers))
    if missing:
        raise VectorError(f"site {site!r} has no layers {missing} (it has {known.layers[0]}..{known.layers[-1]})")
    if not layers:
        raise VectorError("no layers to capture")


def capture_stream(
    engine: Engine,
    tokens: Sequence[Sequence[int]],
    layers: Sequence[int],
    *,
    site: str = "l_out",
    rows: Rows = "last",
    group: int = 1,
    progress: Progress | None = None,
    batch: bool = True,
    weights: Weights | None = None,
) -> Iterator[tuple[list[int], dict[int, list[np.ndarray]]]]:
    """Yield (prompt indices, {layer: one array per prompt}) as decode calls finish.

    `rows`: each prompt's last-token row (n_embd), mean row (n_embd) or all rows (n_tokens × n_embd).
    `group`: consecutive prompts that must share a decode call (2 for pairs diffed token by token).
    `weights`: what the batched reads use for this run (engine/dense.py); default: as the engine is set.
    """
    layers = list(layers)
    check_site(engine, site, layers)
    batch = batch and engine.info.architecture in BATCHED_ARCHITECTURES
    before = list(engine.hook.entries)
    steering = _steering_only(before)  # active steering stays in the table, ahead of the captures
    entries = [*steering, *(HookEntry(f"{site}-{layer}", HookOp.CAPTURE) for layer in layers)]
    deepest = len(steering) + layers.index(max(layers))
    recorder = _Recorder(len(steering), len(layers), rows, _token_rows(engine, site))
    done, total = 0, len(tokens)
    context = engine.batch_context() if batch else None
    previous = context.weights if context is not None else "native"
    wanted = weights or previous
    if context is not None and any(len(t) > context.n_tokens for t in tokens):
        wanted = "native"  # such a prompt is read through the engine's own context: read all alike
    if context is not None and wanted != previous:
        context = engine.batch_context(weights=wanted)
    engine.weights_read = context.weights if context is not None else "native"
    if context is not None:
        context.forget()  # a stem cached by an earlier run saw other layers or other steering
    engine.hook.set_capture(recorder, copy=False)
    try:
        for indices, batched in _plan(engine, tokens, group, batch):
            sequences = [tokens[i] for i in indices]
            if batched and context is not None:
                engine.hook.set_entries(entries, abort_after=deepest)
                # the recorder needs the layout during the decode; a cached stem has no rows to capture
                recorder.layout = layout = context.load(sequences, reuse_stem=rows == "last")
                # C copies out only each prompt's last row
                engine.hook.set_rows(layout.output_rows if rows == "last" else None, layout.n_tokens)
                context.run()
            elif len(sequences[0]) <= engine.n_ubatch:  # one prompt per decode, the engine's own context
                engine.hook.set_rows(None)
                engine.hook.set_entries(entries, abort_after=deepest)
                recorder.layout = None
                engine.evaluate_partial(sequences[0])
            else:  # later micro-batches need the earlier ones' cache: no early stop
                engine.hook.set_rows(None)
                engine.hook.set_entries(entries)
                recorder.layout = None
                engine.prefill(sequences[0], reuse_cache=False)
                engine.reset()
            captured = recorder.take(len(indices))
            done += len(indices)
            if progress:
                progress(done, total)
            yield indices, dict(zip(layers, captured, strict=True))
    finally:
        if context is not None:
            context.forget()
            if context.weights != previous:
                engine.batch_context(weights=previous)
        engine.hook.set_rows(None)
        engine.hook.set_entries(before)
        engine.hook.set_capture(None)


def _plan(engine: Engine, tokens: Sequence[Sequence[int]], group: int, batch: bool) -> Iterator[tuple[list[int], bool]]:
    """Pack groups of prompts into decode calls: (prompt indices, batched?) in the order to run them.

    Groups are sorted by their tokens so that prompts sharing a prefix land in the same call (the
    prefix is then read once); a call holds as many distinct tokens and sequences as the capture
    context allows. A prompt too long for it goes alone through the engine's own context.
    """
    if len(tokens) % group:
        raise VectorError(f"{len(tokens)} prompts do not split into groups of {group}")
    for i, t in enumerate(tokens):
        if len(t) == 0:
            raise VectorError(f"prompt {i + 1} has no tokens")
    groups = [list(range(start, start + group)) for start in range(0, len(tokens), group)]
    if not batch:
        for members in groups:
            for i in members:
                yield [i], False
        return
    context = engine.batch_context()
    groups.sort(key=lambda members: [tokens[i] for i in members])
    pending: list[int] = []
    trie = PrefixTrie()
    for members in groups:
        sequences = [tokens[i] for i in members]
        new = trie.count_new(sequences)
        if pending and not context.fits(len(pending) + len(members), trie.n_nodes + new):
            yield pending, True
            pending, trie = [], PrefixTrie()
            new = trie.count_new(sequences)
        if not context.fits(len(members), new):
            if group > 1:
                raise VectorError(
                    f"prompts {members[0] + 1}..{members[-1] + 1} ({new} distinct tokens) must share one decode "
                    f"call, which holds {context.n_tokens} tokens"
                )
            yield members, False  # one long prompt, through the engine's own context
            continue
        for sequence in sequences:
            trie.add(sequence)
        pending.extend(members)
    if pending:
        yield pending, True


def _steering_only(entries: Sequence[HookEntry]) -> list[HookEntry]:
    """The hook's table without its capture entries (a steerer's concept-meter probes and step taps): they
    would reach this capture's recorder too (one callback serves the hook), so a node they share with it
    would be recorded twice. They are left out while this capture runs and put back after it."""
    return [entry for entry in entries if entry.op != HookOp.CAPTURE]


def _token_rows(engine: Engine, site: str) -> Callable[[np.ndarray], np.ndarray]:
    adapter = engine.profile.sites
    return lambda rows: adapter.token_rows(site, rows)


class _Recorder:
    """The hook's capture callback: keeps only the rows wanted, per captured layer, for one decode."""

    def __init__(self, offset: int, n_layers: int, rows: Rows, to_tokens: Callable[[np.ndarray], np.ndarray]) -> None:
        self.offset, self.rows = offset, rows
        self.to_tokens = to_tokens  # a multi-stream node's rows -> one row per token (the model profile's)
        self.layout: BatchLayout | None = None
        self.chunks: list[list[np.ndarray]] = [[] for _ in range(n_layers)]
        self.error: str | None = None
        # llama.cpp calls the hook on the thread that decodes; the hook is the engine's, so a generation
        # another thread runs on the same engine meanwhile must not add its rows to this capture
        self.thread = threading.get_ident()

    def __call__(self, index: int, view: np.ndarray) -> None:
        if threading.get_ident() != self.thread or not 0 <= index - self.offset < len(self.chunks):
            return  # another thread's decode, or an entry that is not one of this capture's
        try:
            self.chunks[index - self.offset].append(self._select(view))
        except Exception as exc:  # an exception cannot cross llama.cpp: report it after the decode
            self.error = self.error or f"{type(exc).__name__}: {exc}"

    def _select(self, view: np.ndarray) -> list[np.ndarray] | np.ndarray:
        layout = self.layout
        tokens = self.to_tokens(view)
        if layout is None:  # one prompt through the engine's context (possibly several micro-batches)
            return tokens.copy() if tokens is view else tokens
        view = tokens
        if view.shape[0] == layout.n_tokens:
            if self.rows == "last":
                return view[layout.last]
            if self.rows == "mean":
                return np.stack([view[path].mean(axis=0, dtype=np.float64) for path in layout.paths]).astype(np.float32)
            return [view[path] for path in layout.paths]
        if view.shape[0] == len(layout.output_rows):  # the outputs only (llama.cpp's last layer, or C picked)
            rows = view[layout.outputs]
            return rows if self.rows != "all" else [row[None, :] for row in rows]
        raise ValueError(f"node has {view.shape[0]} rows for a batch of {layout.n_tokens} tokens")

    def take(self, n_prompts: int) -> list[list[np.ndarray]]:
        """Per layer, one array per prompt of this decode call."""
        error, self.error = self.error, None
        chunks, self.chunks = self.chunks, [[] for _ in self.chunks]
        if error:
            raise VectorError(f"capture failed: {error}")
        out = []
        for pieces in chunks:
            if not pieces:
                raise VectorError("the capture hook saw none of the requested nodes (site or layers not in the graph)")
            if self.layout is None:  # one prompt: its rows may arrive in several micro-batches
                out.append([_reduce(np.concatenate(pieces), self.rows)])
            elif len(pieces) == 1:
                out.append(list(pieces[0]))
            else:  # llama.cpp evaluated the node more than once in one decode: its rows cannot be matched
                raise VectorError(
                    f"the capture saw a captured layer {len(pieces)} times in one batched decode (expected once); "
                    "read the prompts one at a time (batch=False) on this llama.cpp build"
                )
        if any(len(per_layer) != n_prompts for per_layer in out):
            raise VectorError("the capture returned a different number of prompts than it read")
        return out


def _reduce(rows: np.ndarray, position: Rows) -> np.ndarray:
    if position == "last":
        return rows[-1]
    if position == "all":
        return rows
    return rows.mean(axis=0)


def _capture_generated(
    engine: Engine,
    tokens: list[list[int]],
    layers: list[int],
    site: str,
    gen_tokens: int,
    progress: Progress | None,
) -> list[list[np.ndarray]]:
    """Greedy continuation of each prompt, averaging the generated tokens' rows (one prompt at a time)."""
    check_site(engine, site, layers)
    before = list(engine.hook.entries)
    steering = _steering_only(before)
    entries = [*steering, *(HookEntry(f"{site}-{layer}", HookOp.CAPTURE) for layer in layers)]
    recorder = _Recorder(len(steering), len(layers), "mean", _token_rows(engine, site))
    engine.hook.set_capture(recorder, copy=False)
    out: list[list[np.ndarray]] = []
    try:
        for done, prompt in enumerate(tokens, 1):
            engine.hook.set_entries(steering)  # the prompt itself is not recorded
            engine.prefill(prompt, reuse_cache=False)
            engine.hook.set_entries(entries)
            for _ in engine.stream(prompt, Sampling(temperature=0.0, max_tokens=gen_tokens)):
                pass
            out.append([rows[0] for rows in recorder.take(1)])
            if progress:
                progress(done, len(tokens))
    finally:
        engine.hook.set_entries(before)
        engine.hook.set_capture(None)
    return out
