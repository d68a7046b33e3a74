"""The engine: one GGUF model loaded in-process through llama-cpp-python.

It knows tokens, chat templates, sampling and the KV cache; it knows nothing of modes or tools.
Steering attaches in two places the engine exposes: `ctx` (the raw llama_context, for native
control vectors) and `hook` (Rudder's compiled graph callback, installed when the context is
created so steering can change between decode calls without a new context).

KV-cache semantics (decided here, relied on by modes): each call reuses the longest common token
prefix already in the cache and evaluates only the rest. Cached tokens keep the activations of the
steering that was active when they were computed; a steering swap never re-processes the conversation.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import llama_cpp
import numpy as np
from llama_cpp.llama_chat_format import Jinja2ChatFormatter
from llama_cpp.llama_grammar import LlamaGrammar

from rudder.engine import chat_formats, dense, llama_internals, llama_log, loading, prefill
from rudder.engine.batch import DEFAULT_SEQUENCES, DEFAULT_TOKENS, BatchContext, common_length
from rudder.engine.config import EngineConfig, default_threads
from rudder.engine.dense import Weights
from rudder.engine.generation import (
    GenerationResult,
    Sampling,
    TokenFilter,
    Watcher,
)
from rudder.engine.gguf_header import model_identity
from rudder.engine.hook import GraphHook
from rudder.engine.info import ContextOverflowError, EngineError, ModelInfo
from rudder.engine.model_file import ModelLoadError, check_gguf, embedded_model_path
from rudder.engine.profiles import ModelProfile, profile_for
from rudder.engine.sampling import TokenSampler, make_sampler
from rudder.engine.sites import discover_sites
from rudder.engine.streaming import Generation

__all__ = ["ContextOverflowError", "Engine", "EngineConfig", "EngineError", "ModelInfo", "ModelLoadError"]


def system_info() -> str:
    """llama.cpp's own line on the CPU features its kernels use here (`CPU : SSE3 = 1 | AVX2 = 1 | ...`)."""
    return llama_cpp.llama_print_system_info().decode(errors="replace").strip()


class Engine:
    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self._pieces: dict[int, str] = {}
        path = Path(self.config.model_path) if self.config.model_path else embedded_model_path()
        header = self.header = check_gguf(path)
        llama_log.install(self.config.verbose)  # llama.cpp's lines to the log, not the terminal
        threads = self.threads = self.config.n_threads or default_threads()
        self.llama = loading.load_llama(path, header, self.config, threads)
        self.hook = GraphHook()
        self._install_hook()
        arch = self.llama.metadata.get("general.architecture", "unknown")
        streams = self.llama.metadata.get(f"{arch}.hyper_connection.count")
        self.profile: ModelProfile = profile_for(arch, hc_streams=int(streams) if streams else None)
        self.chat_format = self._chat_format()
        self.info = loading.read_info(self.llama, path, model_identity(header), self.profile, self.chat_format)
        self._formatter = Jinja2ChatFormatter(
            template=self.info.chat_template,
            eos_token=self._piece(self.llama.token_eos(), special=True),
            bos_token=self._piece(self.llama.token_bos(), special=True),
        )
        self._grammars: dict[str, LlamaGrammar] = {}
        self.grammar_first = True
        self._cvec: tuple[np.ndarray, int, int] | None = None
        self._cvec_digest = ""
        self.ledger = prefill.SteeringLedger()  # which steering computed each cached token
        self.restored = 0  # tokens the last prefill read from the disk prompt cache
        self.prompt_cache = prefill.open_prompt_cache(self)
        self._batch_ctx: BatchContext | None = None
        self.weights_note = ""  # why capture reads other weights than it would choose, if it does
        self.weights_read = "native"  # what the last capture read (set by vectors/extraction/capture.py)
        self.sites = discover_sites(self)
        self.reset()

    # -- set-up ------------------------------------------------------------------------------------

    def _install_hook(self) -> None:
        """Replace the context Llama created with one whose cb_eval is Rudder's hook (set once, for life)."""
        params = self.llama.context_params
        params.cb_eval = self.hook.callback
        params.cb_eval_user_data = self.hook.user_data
        llama_internals.with_parking(self.llama, params)  # moved runs of the prompt wait there (kv_reuse.py)
        llama_internals.replace_context(self.llama, params)

    def _chat_format(self) -> chat_formats.ChatFormat | None:
        """The GGUF's own template's format (None: one Rudder does not know), else the profile's first format
        whose turn markers the vocabulary has, else the plain-completion form of a base model."""
        template = self.llama.metadata.get("tokenizer.chat_template")
        if template:
            return chat_formats.recognise(template)
        return chat_formats.choose_format(self.profile.chat_formats, self.special_token)

    def special_token(self, text: str) -> int | None:
        """The one special (control) token whose text is `text`, or None (plain text, or several tokens)."""
        tokens = self.tokenize(text, special=True, add_bos=False)
        if len(tokens) != 1 or len(self.tokenize(text, special=False, add_bos=False)) == 1:
            return None
        return tokens[0]

    @property
    def stop_text(self) -> tuple[str, ...]:
        """Text that ends an answer besides the end-of-generation tokens: the profile's and the chat format's."""
        own = self.chat_format.stop if self.chat_format else ()
        return tuple(dict.fromkeys((*self.profile.stop, *own)))

    @property
    def ctx(self) -> llama_cpp.llama_context_p:
        """The raw llama_context (for llama_set_adapter_cvec and other low-level calls)."""
        return llama_internals.raw_context(self.llama)

    def settings(self) -> dict[str, Any]:
        """How this model was loaded, for run manifests."""
        return {
            "n_ctx": self.info.n_ctx,
            "n_batch": self.config.n_batch,
            "threads": self.threads,
            "llama_cpp_python": llama_cpp.__version__,
        }

    def set_control_vector(self, data: np.ndarray | None, il_start: int = 0, il_end: int = 0) -> int:
        """llama.cpp's native control vector (n_layer-1 rows, row 0 = layer 1) on every context; None
        clears. Call only between decodes (Steerer defers it to the next decode boundary)."""
        n_embd = self.info.n_embd
        if data is None:
            self._cvec = None
            status = llama_cpp.llama_set_adapter_cvec(self.ctx, None, 0, n_embd, 0, 0)
        else:
            data = np.ascontiguousarray(data, dtype=np.float32).copy()
            pointer = data.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            status = llama_cpp.llama_set_adapter_cvec(self.ctx, pointer, data.size, n_embd, il_start, il_end)
            self._cvec = (data, il_start, il_end) if status == 0 else None
        self._cvec_digest = prefill.cvec_digest(*self._cvec) if self._cvec is not None else ""
        if self._batch_ctx is not None and status == 0:
            self._batch_ctx.set_control_vector(self._cvec)
        return int(status)

    def capture_weights(self, weights: Weights | None = None) -> tuple[str, str]:
        """(what batched capture reads: "native", "f16" or "bf16", why) for `weights` (default: the config's)."""
        return dense.choose(
            weights or self.config.capture_weights,
            self.header,
            n_params=self.info.n_params,
            gpu_layers=self.config.n_gpu_layers,
        )

    def batch_context(
        self, n_tokens: int | None = None, n_seq_max: int | None = None, weights: Weights | None = None
    ) -> BatchContext:
        """The capture context for several prompts per decode (created on first use, then kept).

        `weights`: what it reads (see dense.py); None keeps the current context's, else the config's."""
        current = self._batch_ctx
        wanted = (
            n_tokens or (current.requested[0] if current else min(self.n_ubatch, DEFAULT_TOKENS)),
            n_seq_max or (current.requested[1] if current else DEFAULT_SEQUENCES),
            self.capture_weights(weights)[0] if weights or current is None else current.requested[2],
        )
        if current is None or current.requested != wanted:
            if current is not None:
                current.close()
            self._batch_ctx = None
            try:
                by_name = (weights or self.config.capture_weights) != "auto"
                source, self.weights_note = dense.copy_for_capture(
                    self.info.path, wanted[2], self.threads, asked_by_name=by_name
                )
            except dense.DenseWeightsError as exc:
                raise EngineError(str(exc)) from None
            current = BatchContext(self, wanted[0], wanted[1], weights=wanted[2], weights_file=source)
            if self._cvec is not None:
                current.set_control_vector(self._cvec)
            self._batch_ctx = current
        return current

    def close(self) -> None:
        if self._batch_ctx is not None:
            self._batch_ctx.close()
            self._batch_ctx = None
        self.llama.close()
        self.hook.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- text <-> tokens ---------------------------------------------------------------------------

    def tokenize(self, text: str, *, special: bool = True, add_bos: bool = True) -> list[int]:
        return self.llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special)

    def _piece(self, token: int, *, special: bool = False) -> str:
        return self.piece_bytes(token, special=special).decode("utf-8", errors="replace")

    def piece_bytes(self, token: int, *, special: bool = False) -> bytes:
        vocab = llama_internals.vocab(self.llama)
        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_token_to_piece(vocab, token, buf, size, 0, special)
            if n >= 0:
                return buf.raw[:n]
            size = -n

    def detokenize(self, tokens: Sequence[int]) -> str:
        return b"".join(self.piece_bytes(t) for t in tokens).decode("utf-8", errors="replace")

    def format_chat(self, messages: Sequence[dict[str, Any]], *, add_generation_prompt: bool = True) -> str:
        """Render messages with the model's own chat template."""
        self._formatter.add_generation_prompt = add_generation_prompt
        return self._formatter(messages=list(messages)).prompt

    def is_end_of_generation(self, token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_eog(llama_internals.vocab(self.llama), token))

    # -- evaluation --------------------------------------------------------------------------------

    def fit_prompt(self, tokens: list[int], reserve: int, overflow: Literal["error", "truncate"]) -> list[int]:
        """Check the prompt leaves `reserve` tokens of room; truncate the middle if the caller allows."""
        room = self.info.n_ctx - reserve
        if len(tokens) <= room:
            return tokens
        if overflow == "error" or room < 128:
            raise ContextOverflowError(
                f"prompt is {len(tokens)} tokens but the context window is {self.info.n_ctx} "
                f"(with {reserve} reserved for the answer): shorten the input or raise n_ctx "
                f"(the model was trained on {self.info.n_ctx_train})"
            )
        head = min(64, room // 4)  # the system prompt's start stays; the oldest middle goes
        return tokens[:head] + tokens[len(tokens) - (room - head) :]

    def prefill(
        self, tokens: Sequence[int], *, reuse_cache: bool = True, stable: int | Sequence[int] = 0
    ) -> tuple[int, int]:
        """Make the KV cache hold exactly `tokens` with logits for the last one (see engine/prefill.py).

        Returns (cached, evaluated): cached = tokens reused (the common prefix, a disk entry, runs that moved
        in the prompt), evaluated = the rest. Reused tokens keep the activations they were computed with; the last
        token is always evaluated so its logits (and any capture) are fresh. `stable`: how many leading
        tokens are the same run after run (system prompt, tools, examples): they are looked up in and
        saved to the disk prompt cache under the steering active now (several: see prefill.prefill).
        """
        tokens = list(tokens)
        if not tokens:
            raise EngineError("cannot evaluate an empty prompt")
        if len(tokens) > self.info.n_ctx:
            raise ContextOverflowError(f"{len(tokens)} tokens exceed the context window of {self.info.n_ctx}")
        return prefill.prefill(self, tokens, reuse_cache=reuse_cache, stable=stable)

    def steering_key(self) -> str:
        """What the steering does to the rows of the running decode (call inside `hook.decoding`)."""
        hooked, native = self.hook.pinned_digest, self._cvec_digest
        return f"{hooked}+{native}" if hooked or native else ""

    def decode_token(self, token: int) -> None:
        """Evaluate one generated token after the cache (its logits are the next token's)."""
        with self.hook.decoding(generating=True):
            key = self.steering_key()
            self.llama.eval([token])
            self.ledger.extend(self.llama.n_tokens, key)
        self.hook.raise_if_failed()

    @property
    def n_ubatch(self) -> int:
        return int(self.llama.context_params.n_ubatch)

    def evaluate_partial(self, tokens: Sequence[int]) -> None:
        """Run `tokens` through a graph that the hook ends early (capture up to some layer).

        llama.cpp drops an aborted batch from the KV cache, so the cache is left empty. A prompt longer
        than one micro-batch cannot be cut short (its later chunks need the dropped cache): use prefill.
        """
        tokens = list(tokens)
        if not 0 < len(tokens) <= self.n_ubatch:
            raise EngineError(f"evaluate_partial takes 1..{self.n_ubatch} tokens, got {len(tokens)}")
        self.reset()
        with self.hook.decoding(generating=False):
            status = llama_internals.decode(self.llama, tokens, n_past=0, logits_all=False)
        self.hook.raise_if_failed()
        self.reset()
        if status not in (0, 2):  # 2 = aborted by the hook, as asked
            raise EngineError(f"llama_decode failed with status {status}")

    def reset(self) -> None:
        """Forget the KV cache. Temperature-0 output is reproducible from a reset engine: llama.cpp's
        kernels round differently for different batch splits, so a reused cache can flip a near-tie."""
        llama_internals.clear_kv_cache(self.llama)
        self.ledger.truncate(0)

    def logits(self) -> np.ndarray:
        """Logits of the last evaluated token (a copy)."""
        return llama_internals.logits_row(self.llama, -1, self.info.n_vocab)

    def logits_of(self, tokens: Sequence[int], n_past: int) -> np.ndarray:
        """Evaluate `tokens` after the first `n_past` cached ones and return every row's logits (for scoring
        text, e.g. perplexity), under the current steering."""
        rows = []
        tokens = list(tokens)
        for start in range(0, len(tokens), self.n_ubatch):
            chunk = tokens[start : start + self.n_ubatch]
            with self.hook.decoding(generating=False):
                status = llama_internals.decode(self.llama, chunk, n_past=n_past + start, logits_all=True)
            self.hook.raise_if_failed()
            if status != 0:
                raise EngineError(f"llama_decode failed with status {status} while scoring tokens")
            rows += [llama_internals.logits_row(self.llama, i, self.info.n_vocab) for i in range(len(chunk))]
        return np.stack(rows) if rows else np.zeros((0, self.info.n_vocab), np.float32)

    def _grammar(self, gbnf: str) -> LlamaGrammar:
        if gbnf not in self._grammars:
            self._grammars[gbnf] = LlamaGrammar.from_string(gbnf, verbose=False)
        return self._grammars[gbnf]

    def token_sampler(self, sampling: Sampling, grammar: str | None) -> TokenSampler:
        """Grammar calls check the sampled token first (sampling.py); `grammar_first = False` restores
        the full-vocabulary grammar pass on every token (kept for benchmarks and equivalence tests)."""
        llama_grammar = self._grammar(grammar) if grammar is not None else None
        model = llama_internals.model_handle(self.llama)
        return make_sampler(
            sampling, model, llama_grammar, grammar_first=self.grammar_first, piece=self.piece, token_of=self.token_of
        )

    def token_of(self, piece: str) -> int | None:
        """The one token whose text is `piece`, or None when it takes several."""
        tokens = self.tokenize(piece, special=False, add_bos=False)
        return tokens[0] if len(tokens) == 1 and self.piece(tokens[0]) == piece else None

    def piece(self, token: int) -> str:
        """A token's text (cached: filters ask about the same few thousand tokens again and again)."""
        cached = self._pieces.get(token)
        if cached is None:
            cached = self._pieces[token] = self.piece_bytes(token).decode("utf-8", errors="ignore")
        return cached

    # -- generation --------------------------------------------------------------------------------

    def stream(
        self,
        prompt: str | Sequence[int],
        sampling: Sampling | None = None,
        *,
        grammar: str | None = None,
        overflow: Literal["error", "truncate"] = "error",
        watchers: Sequence[Watcher] = (),
        token_filter: TokenFilter | None = None,
        stable_prefix: str | Sequence[str] = "",
    ) -> Generation:
        """Generate token by token. Iterate the result; its `.stats` and `.text` are final at the end.

        Steering may change while the caller holds a yielded token: the next decode uses it. `watchers`
        see each token after it is evaluated (see generation.Watcher); with a grammar, `token_filter` may
        veto likely tokens the grammar cannot express (see generation.TokenFilter). `stable_prefix`: the
        start of `prompt` that stays the same run after run (goes through the disk prompt cache); several
        nested ones: a cache that cannot shift also saves the shorter ones (see prefill.prefill).
        """
        sampling = sampling or Sampling()
        extra = [s for s in self.stop_text if s not in sampling.stop]
        if extra:  # the chat format's end-of-turn text (a GGUF whose vocabulary lacks the special tokens)
            sampling = sampling.model_copy(update={"stop": [*sampling.stop, *extra]})
        tokens = prefill.replay_tokens(self, prompt) if isinstance(prompt, str) else list(prompt)
        tokens = self.fit_prompt(tokens, min(sampling.max_tokens, self.info.n_ctx // 4), overflow)
        prefixes = [stable_prefix] if isinstance(stable_prefix, str) else stable_prefix
        stable = tuple(sorted({common_length(self.tokenize(p), tokens) for p in prefixes if p}))
        return Generation(self, tokens, sampling, grammar, watchers, token_filter, stable)

    def complete(
        self,
        prompt: str | Sequence[int],
        sampling: Sampling | None = None,
        *,
        grammar: str | None = None,
        overflow: Literal["error", "truncate"] = "error",
        watchers: Sequence[Watcher] = (),
    ) -> GenerationResult:
        generation = self.stream(prompt, sampling, grammar=grammar, overflow=overflow, watchers=watchers)
        for _ in generation:
            pass
        return generation.result()
