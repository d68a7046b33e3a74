"""Several prompts in one decode call: a second llama.cpp context for capture runs.

The engine's own context holds one sequence (the conversation) and its KV prefix cache. Capture wants
the opposite: many short, unrelated prompts evaluated side by side, so the CPU does matrix-matrix work
instead of one prompt at a time, and nothing kept afterwards. `BatchContext` is that context: created
on first use from the same model, with room for `n_seq_max` sequences in one unified KV buffer of
`n_tokens` cells (one decode's worth), the same graph hook, and the engine's native control vector.

Each sequence gets its own seq_id and positions from 0, so llama.cpp's attention mask keeps them apart;
only each sequence's last token is marked as an output, so the final layer (which llama.cpp computes
for outputs only) and the logits cost one row per sequence. A decode never exceeds one micro-batch,
so the hook may end the graph early.

Shared stems across decode calls (`load(..., reuse_stem=True)`): the tokens every prompt of a batch
begins with (a chat template's system prompt, a persona) stay in the KV cache under a spare sequence
id after the decode, and the next batch that begins the same way copies them into its sequences
(`llama_memory_seq_cp`, no data copied) and reads only what follows. The cached rows were computed up
to the layer the hook stopped at, which is all a later decode stopping at the same layer reads: the
caller calls `forget()` whenever the captured layers, the steering or the prompts' purpose change
(capture does it around every run). llama.cpp rolls an aborted decode back per sequence from that
sequence's first own token on, so the stem survives in the sequences that branched off later; which
one still holds it is read back from the cache (`seq_pos_max`), never assumed.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import llama_cpp
import numpy as np

from rudder.engine import llama_internals

if TYPE_CHECKING:
    from rudder.engine.hook import GraphHook
    from rudder.engine.info import ModelInfo


class ContextSource(Protocol):
    """What a batch context copies from the engine: its model and context settings, its hook, its sizes
    (engine.Engine; typed here so that this module, which engine.py imports, does not import it back)."""

    llama: llama_cpp.Llama
    hook: GraphHook
    info: ModelInfo

# Tokens per decode: enough rows for matrix-matrix work. Every row attends over the whole (masked) KV
# buffer, so 256 would halve attention: on 300 template pairs, layers 0-28, it took 38.5 CPU seconds to
# 512's 40.0 (1 thread, busy machine), but moved one prompt's layer-0 row by 0.2% against reading it
# alone, where 512 is bit-identical there; kept at 512 (tests/vectors/test_capture_batched.py).
DEFAULT_TOKENS = 512
DEFAULT_SEQUENCES = 64


class BatchError(RuntimeError):
    pass


class PrefixTrie:
    """Prompts as a token trie: a prefix shared by several prompts is one set of rows, read once.

    llama.cpp lets one token belong to several sequences; a trie node is such a token, its sequences
    are the prompts passing through it. Nodes are numbered in creation order, so every prompt's tokens
    come in position order (llama.cpp requires that) and a node's ancestors come before it.
    """

    def __init__(self) -> None:
        self.tokens: list[int] = []
        self.positions: list[int] = []
        self.seqs: list[list[int]] = []
        self.paths: list[list[int]] = []
        self._children: dict[tuple[int, int], int] = {}
        self.start = 0  # position of every prompt's first token here (tokens before it are in the cache)

    @property
    def n_nodes(self) -> int:
        return len(self.tokens)

    def count_new(self, sequences: Sequence[Sequence[int]]) -> int:
        """Nodes that adding `sequences` would create (nothing is added)."""
        virtual: dict[tuple[int, int], int] = {}
        for tokens in sequences:
            node = -1
            for token in tokens:
                key = (node, token)
                child = self._children.get(key)
                if child is None:
                    child = virtual.setdefault(key, -2 - len(virtual))  # ids below the root's -1
                node = child
        return len(virtual)

    def add(self, tokens: Sequence[int]) -> int:
        """Add one prompt as the next sequence; returns its sequence id."""
        seq = len(self.paths)
        node, path = -1, []
        for position, token in enumerate(tokens):
            key = (node, token)
            child = self._children.get(key)
            if child is None:
                child = len(self.tokens)
                self._children[key] = child
                self.tokens.append(token)
                self.positions.append(self.start + position)
                self.seqs.append([])
            self.seqs[child].append(seq)
            path.append(child)
            node = child
        self.paths.append(path)
        return seq


@dataclass(frozen=True)
class BatchLayout:
    """Where each prompt's tokens sit among one decode's rows (trie nodes), and its output row."""

    paths: list[np.ndarray]  # per prompt: the row of each of its tokens
    last: np.ndarray  # per prompt: the row of its last token
    outputs: np.ndarray  # per prompt: its index among the rows llama.cpp outputs (batch order)
    output_rows: np.ndarray  # the rows llama.cpp outputs, in batch order (distinct last tokens)
    n_tokens: int

    @classmethod
    def of(cls, trie: PrefixTrie) -> BatchLayout:
        paths = [np.asarray(p, dtype=np.int64) for p in trie.paths]
        last = np.fromiter((p[-1] for p in trie.paths), dtype=np.int64, count=len(paths))
        unique = np.unique(last)
        return cls(paths, last, np.searchsorted(unique, last), unique, trie.n_nodes)


class BatchContext:
    """A capture-only llama.cpp context beside the engine's (see the module docstring)."""

    def __init__(
        self,
        engine: ContextSource,
        n_tokens: int = DEFAULT_TOKENS,
        n_seq_max: int = DEFAULT_SEQUENCES,
        flash_attn: int = 0,
        weights: str = "native",
        weights_file: Path | None = None,
    ) -> None:
        if not 1 <= n_seq_max <= 256:
            raise BatchError(f"n_seq_max must be 1..256 (llama.cpp's limit), got {n_seq_max}")
        if n_tokens < 1:
            raise BatchError(f"n_tokens must be positive, got {n_tokens}")
        self.engine = engine
        # what it reads: the engine's model, or a dense copy of its weights (dense.py) loaded beside it
        self.weights = weights if weights_file is not None else "native"
        self.requested = (n_tokens, n_seq_max, self.weights)
        params = llama_cpp.llama_context_params()
        ctypes.memmove(ctypes.byref(params), ctypes.byref(engine.llama.context_params), ctypes.sizeof(params))
        params.n_ctx = params.n_batch = params.n_ubatch = n_tokens
        # llama.cpp aborts the process (an assert) on more sequence ids than tokens per decode
        n_seq_max = min(n_seq_max, max(1, n_tokens - 1))
        # one spare sequence id holds the cached stem (with one sequence per decode: no stem, bit-exact)
        self._keep = n_seq_max if 1 < n_seq_max < 256 else None
        params.n_seq_max = n_seq_max + (self._keep is not None)
        params.kv_unified = True  # one buffer for all sequences: no per-sequence slice of n_ctx
        params.embeddings = False
        params.flash_attn_type = flash_attn
        params.cb_eval = engine.hook.callback
        params.cb_eval_user_data = engine.hook.user_data
        self._stack = contextlib.ExitStack()
        try:
            if weights_file is None:
                context = llama_internals.open_context(engine.llama, params)
            else:
                model = self._stack.enter_context(
                    contextlib.closing(llama_internals.open_model(str(weights_file), engine.llama))
                )
                context = llama_internals.open_context_on(model, params)
            self._ctx = self._stack.enter_context(contextlib.closing(context))
        except ValueError as exc:
            self._stack.close()
            raise BatchError(f"llama.cpp could not create a {n_seq_max}-sequence capture context ({exc})") from exc
        # llama.cpp rounds n_ctx up to a multiple of 256; one decode stays within n_batch.
        self.n_tokens = int(llama_cpp.llama_n_batch(self._ctx.ctx))
        self.n_seq_max = int(llama_cpp.llama_n_seq_max(self._ctx.ctx)) - (self._keep is not None)
        self._batch = llama_internals.new_batch(self.n_tokens, self.n_seq_max + 1)
        self._stack.callback(self._batch.close)
        self._cvec: tuple[np.ndarray, int, int] | None = None
        self._memory = llama_cpp.llama_get_memory(self._ctx.ctx)
        self.stem: list[int] = []  # tokens cached under sequence `_keep`, positions 0..len-1
        self._loaded: tuple[int, list[int], int] = (0, [], 0)  # (sequences, their common stem, reused length)
        self.rows_read = 0  # tokens evaluated so far (for benchmarks)

    @property
    def ctx(self) -> llama_cpp.llama_context_p:
        return self._ctx.ctx

    def fits(self, n_sequences: int, n_tokens: int) -> bool:
        return n_sequences <= self.n_seq_max and n_tokens <= self.n_tokens

    def set_control_vector(self, cvec: tuple[np.ndarray, int, int] | None) -> None:
        """Mirror the engine's native control vector (data, il_start, il_end), so capture sees it too."""
        if cvec is None:
            llama_cpp.llama_set_adapter_cvec(self.ctx, None, 0, self.engine.info.n_embd, 0, 0)
        else:
            data, start, end = cvec
            pointer = data.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            status = llama_cpp.llama_set_adapter_cvec(self.ctx, pointer, data.size, self.engine.info.n_embd, start, end)
            if status != 0:
                raise BatchError(f"llama.cpp refused the control vector in the capture context (status {status})")
        self._cvec = cvec

    def forget(self) -> None:
        """Drop everything cached (the stem too): call when the layers, steering or prompts change."""
        llama_cpp.llama_memory_clear(self._memory, False)  # cells only: stale rows are masked out
        self.stem = []

    def load(self, sequences: Sequence[Sequence[int]], *, reuse_stem: bool = False) -> BatchLayout:
        """Put each token list into the batch as its own sequence, shared prefixes once; `run` evaluates it.

        `reuse_stem`: tokens all `sequences` begin with that the previous batch cached are not read again
        (their rows are then not in the layout: only for captures of each prompt's last token)."""
        if not sequences or any(len(s) == 0 for s in sequences):
            raise BatchError("every sequence in a batch needs at least one token")
        stem = _common_prefix(sequences) if reuse_stem and self._keep is not None else []
        reused = common_length(self.stem, stem)
        trie = PrefixTrie()
        trie.start = reused
        for tokens in sequences:
            trie.add(tokens[reused:])
        if not self.fits(len(sequences), trie.n_nodes + reused):
            raise BatchError(
                f"{len(sequences)} sequences of {trie.n_nodes} distinct tokens do not fit one batch "
                f"({self.n_seq_max} sequences, {self.n_tokens} tokens)"
            )
        layout = BatchLayout.of(trie)
        batch = self._batch.batch
        batch.n_tokens = trie.n_nodes
        outputs = set(layout.last.tolist())
        for i, (token, position, seqs) in enumerate(zip(trie.tokens, trie.positions, trie.seqs, strict=True)):
            batch.token[i] = token
            batch.pos[i] = position
            batch.n_seq_id[i] = len(seqs)
            row = batch.seq_id[i]
            for k, seq in enumerate(seqs):
                row[k] = seq
            batch.logits[i] = i in outputs
        self._loaded = (len(sequences), stem, reused)
        return layout

    def run(self) -> None:
        """One llama_decode of the loaded batch. The hook may end the graph early (status 2: the rest
        was not needed). Afterwards only the stem stays in the KV cache (nothing, without reuse)."""
        n_sequences, stem, reused = self._loaded
        memory = self._memory
        if self._keep is not None:
            llama_cpp.llama_memory_seq_rm(memory, self._keep, reused, -1)
        else:
            llama_cpp.llama_memory_clear(memory, False)
        for seq in range(n_sequences if reused else 0):
            llama_cpp.llama_memory_seq_cp(memory, self._keep, seq, 0, reused)
        self.rows_read += self._batch.batch.n_tokens
        hook = self.engine.hook
        try:
            with hook.decoding(generating=False):  # deferred steering changes land first, one table throughout
                status = llama_cpp.llama_decode(self.ctx, self._batch.batch)
        finally:
            self._batch.reset()
            self._keep_stem(n_sequences, stem, reused)
        hook.raise_if_failed()
        if status not in (0, 2):  # 2 = aborted by the hook, as asked
            self.forget()
            raise BatchError(f"llama_decode failed with status {status}")

    def _keep_stem(self, n_sequences: int, stem: list[int], reused: int) -> None:
        """Move the batch's common stem under the spare sequence id; drop the batch's sequences."""
        memory, keep = self._memory, self._keep
        if keep is None:
            llama_cpp.llama_memory_clear(memory, False)
            return
        kept = stem[:reused] if llama_cpp.llama_memory_seq_pos_max(memory, keep) >= reused - 1 else []
        if len(stem) > reused and len(kept) == reused:
            holder = max(range(n_sequences), key=lambda seq: llama_cpp.llama_memory_seq_pos_max(memory, seq))
            if llama_cpp.llama_memory_seq_pos_max(memory, holder) >= len(stem) - 1:
                llama_cpp.llama_memory_seq_cp(memory, holder, keep, reused, len(stem))
                kept = stem
        for seq in range(n_sequences):
            llama_cpp.llama_memory_seq_rm(memory, seq, -1, -1)
        if not kept:
            llama_cpp.llama_memory_seq_rm(memory, keep, -1, -1)
        self.stem = list(kept)

    def decode(self, sequences: Sequence[Sequence[int]]) -> BatchLayout:
        layout = self.load(sequences)
        self.run()
        return layout

    def close(self) -> None:
        self._stack.close()


def common_length(a: Sequence[int], b: Sequence[int]) -> int:
    """How many tokens two sequences share at the start."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _common_prefix(sequences: Sequence[Sequence[int]]) -> list[int]:
    """The tokens every sequence begins with, short of each one's last token (that one is read here)."""
    first = sequences[0]
    length = min(len(s) for s in sequences) - 1
    for other in sequences[1:]:
        length = min(length, common_length(first[:length], other))
    return list(first[: max(0, length)])
