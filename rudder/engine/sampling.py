"""Token samplers over llama.cpp's sampler API, with grammar checking done the cheap way.

Applying a llama.cpp grammar to the whole vocabulary (49k tokens for SmolLM2) costs more than the decode
itself: grammar-constrained generation ran at ~0.5x of plain decoding. llama.cpp's common sampler avoids
it, and so does `GrammarFirstSampler`: sample from the unconstrained distribution first, check only the
chosen token against the grammar (a one-candidate array), and fall back to the full grammar pass only
when that token is rejected. Greedy results are identical to applying the grammar first: the argmax of
all tokens, when the grammar allows it, is also the argmax of the allowed ones.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable

import llama_cpp
import numpy as np
from llama_cpp.llama_grammar import LlamaGrammar

from rudder.engine import llama_internals as _internals
from rudder.engine.generation import Sampling, TokenFilter

GREEDY_RETRIES = 16  # greedy: single checks of the next-best tokens before a whole-vocabulary pass
FILTER_CANDIDATES = 32  # a TokenFilter is asked about this many of the most likely tokens
FILTER_RECHECKS = 8  # ... and then about the grammar's own choices, up to this many


def build_chain(
    sampling: Sampling,
    n_vocab: int,
    model: _internals.LlamaModel | None = None,
    grammar: LlamaGrammar | None = None,
) -> _internals.LlamaSampler:
    """The sampler chain: penalties, the grammar if given, then greedy or top-k/top-p/min-p/temperature."""
    sampler = _internals.LlamaSampler()
    if sampling.repeat_penalty != 1.0:
        sampler.add_penalties(n_vocab, 64, sampling.repeat_penalty, 0.0, 0.0)
    if grammar is not None and model is not None:
        sampler.add_grammar(model, grammar)
    if sampling.temperature == 0.0:
        sampler.add_greedy()
        return sampler
    sampler.add_top_k(sampling.top_k)
    sampler.add_top_p(sampling.top_p, 1)
    sampler.add_min_p(sampling.min_p, 1)
    sampler.add_temp(sampling.temperature)
    sampler.add_dist(sampling.seed)
    return sampler


def make_sampler(
    sampling: Sampling,
    model: _internals.LlamaModel,
    grammar: LlamaGrammar | None,
    *,
    grammar_first: bool,
    piece: Callable[[int], str] = str,
    token_of: Callable[[str], int | None] = lambda piece: None,
) -> TokenSampler:
    n_vocab = model.n_vocab()
    if grammar is None:
        return PlainSampler(build_chain(sampling, n_vocab))
    if grammar_first:
        return GrammarFirstSampler(sampling, n_vocab, model.vocab, grammar, piece, token_of)
    return PlainSampler(build_chain(sampling, n_vocab, model, grammar))  # the grammar on every token


class PlainSampler:
    """llama.cpp samples (grammar included, if the chain has one) and accepts in one C call."""

    def __init__(self, chain: _internals.LlamaSampler) -> None:
        self.chain = chain
        self.full_passes = 0

    def sample(self, ctx: _internals.LlamaContext, token_filter: TokenFilter | None = None, text: str = "") -> int:
        return int(self.chain.sample(ctx, -1))  # filters apply to grammar-first sampling only

    def close(self) -> None:
        self.chain.close()


class GrammarFirstSampler:
    """Sample first, then check the one chosen token against the grammar (see the module docstring).

    `full_passes` counts the tokens that needed the whole-vocabulary grammar pass (rejections)."""

    def __init__(
        self,
        sampling: Sampling,
        n_vocab: int,
        vocab: llama_cpp.llama_vocab_p,
        grammar: LlamaGrammar,
        piece: Callable[[int], str] = str,
        token_of: Callable[[str], int | None] = lambda piece: None,
    ) -> None:
        self.chain = build_chain(sampling, n_vocab)
        text, root = _internals.grammar_source(grammar)
        self.grammar = llama_cpp.llama_sampler_init_grammar(vocab, text.encode("utf-8"), root.encode("utf-8"))
        if not self.grammar:
            raise ValueError("llama.cpp could not build the grammar sampler")
        self.n_vocab = n_vocab
        self.full = _internals.LlamaTokenDataArray(n_vocab=n_vocab)
        self.one_data = (llama_cpp.llama_token_data * 1)()
        self.one = llama_cpp.llama_token_data_array(data=self.one_data, size=1, selected=-1, sorted=False)
        self.full_passes = 0
        # greedy with no penalties: the candidate array stays in id order, so a few single checks in logit
        # order find the same token a full pass would (penalties reorder logits: then always a full pass)
        self.greedy = sampling.temperature == 0.0 and sampling.repeat_penalty == 1.0
        self.vetoed: list[int] = []
        self.raised: dict[int, float] = {}
        self.forced: int | None = None
        self.asked: set[int] = set()  # tokens the filter was asked about for this token
        self.piece, self.token_of = piece, token_of

    def _candidates(self, ctx: _internals.LlamaContext) -> None:
        logits = np.ctypeslib.as_array(ctx.get_logits_ith(-1), shape=(self.n_vocab,))
        self.full.copy_logits(logits)
        self.full.candidates.selected = -1
        if self.vetoed:
            self.full.candidates_data.logit[self.vetoed] = -np.inf
        for token, change in self.raised.items():
            self.full.candidates_data.logit[token] += change

    def _apply_filter(self, ctx: _internals.LlamaContext, token_filter: TokenFilter | None, text: str) -> None:
        """Ask the filter about the most likely tokens (vetoes all-or-none: see TokenFilter)."""
        self.vetoed, self.raised, self.forced, self.asked = [], {}, None, set()
        if token_filter is None or not token_filter.active(text):
            return
        logits = np.ctypeslib.as_array(ctx.get_logits_ith(-1), shape=(self.n_vocab,))
        top = np.argpartition(-logits, FILTER_CANDIDATES)[:FILTER_CANDIDATES]
        self.asked = {int(t) for t in top}
        for token in (int(t) for t in top):
            change = token_filter.adjust(text, self.piece(token))
            if change == -math.inf:
                self.vetoed.append(token)
            elif change:
                self.raised[token] = change
        if len(self.vetoed) == len(top):
            self.vetoed = []
            piece = token_filter.fallback(text)
            self.forced = self.token_of(piece) if piece else None

    def _select(self) -> int:
        llama_cpp.llama_sampler_apply(self.chain.sampler, ctypes.byref(self.full.candidates))
        return int(self.full.candidates_data.id[self.full.candidates.selected])

    def allowed(self, token: int) -> bool:
        """Whether the grammar, in its current state, accepts `token` next."""
        self.one_data[0].id, self.one_data[0].logit, self.one_data[0].p = token, 1.0, 0.0
        self.one.size, self.one.selected, self.one.sorted = 1, -1, False
        llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(self.one))
        return not math.isinf(self.one_data[0].logit)

    def _next_best_allowed(self) -> int | None:
        """Greedy only: the best of the next few tokens (by logit, ties to the lower id as llama.cpp's greedy
        sampler breaks them) that the grammar allows, or None. Same answer as a full pass when found."""
        logits = self.full.candidates_data.logit
        top = np.argpartition(-logits, GREEDY_RETRIES)[:GREEDY_RETRIES]
        for index in top[np.lexsort((top, -logits[top]))][1:]:
            if self.allowed(int(index)):
                return int(index)
        return None

    def _full_pass(self, ctx: _internals.LlamaContext) -> int:
        self._candidates(ctx)
        llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(self.full.candidates))
        token = self._select()
        if self.vetoed and math.isinf(self.full.candidates_data.logit[self.full.candidates.selected]):
            self.vetoed = []  # the grammar allows only vetoed tokens: the grammar wins
            return self._full_pass(ctx)
        return token

    def sample(self, ctx: _internals.LlamaContext, token_filter: TokenFilter | None = None, text: str = "") -> int:
        self._apply_filter(ctx, token_filter, text)
        if self.forced is not None and self.allowed(self.forced):
            return self._accept(self.forced)
        token = self._choose(ctx)
        # the grammar may pick a token outside the candidates the filter was asked about: ask about it too
        for _ in range(FILTER_RECHECKS):
            if token_filter is None or not self.asked or token in self.asked:
                break
            self.asked.add(token)
            if token_filter.adjust(text, self.piece(token)) != -math.inf:
                break
            self.vetoed.append(token)
            token = self._choose(ctx)
        return self._accept(token)

    def _choose(self, ctx: _internals.LlamaContext) -> int:
        self._candidates(ctx)
        token = self._select()
        if not self.allowed(token):
            retry = self._next_best_allowed() if self.greedy else None
            if retry is None:
                self.full_passes += 1
                retry = self._full_pass(ctx)
            token = retry
        return token

    def _accept(self, token: int) -> int:
        llama_cpp.llama_sampler_accept(self.grammar, token)
        llama_cpp.llama_sampler_accept(self.chain.sampler, token)
        return token

    def close(self) -> None:
        if self.grammar:
            llama_cpp.llama_sampler_free(self.grammar)
            self.grammar = None
        self.chain.close()


TokenSampler = PlainSampler | GrammarFirstSampler
