"""The private llama-cpp-python internals Rudder uses are all still there (fails loudly on an upgrade)."""

from __future__ import annotations

import pytest

from rudder.engine import llama_internals


def test_the_internal_classes_rudder_uses_exist() -> None:
    llama_internals.check()


def test_a_missing_internal_is_named_in_the_error() -> None:
    class NotQuiteALlama:
        _ctx = _stack = _model = input_ids = n_tokens = context_params = None  # no _batch

    with pytest.raises(llama_internals.InternalsChanged, match=r"Llama\._batch.*update rudder/engine"):
        llama_internals.check(NotQuiteALlama())


@pytest.mark.slow
def test_a_loaded_model_has_every_internal(engine) -> None:
    llama_internals.check(engine.llama)
    assert llama_internals.n_ctx_train(engine.llama) >= engine.info.n_ctx


def test_the_grammar_source_and_the_library_loader_are_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """engine/sampling.py reads a LlamaGrammar's GBNF source and engine/hook.py loads ggml-base through
    llama-cpp-python's loader: both private, both named by check() when they go."""
    from llama_cpp import _ctypes_extensions, llama_grammar

    class GrammarWithoutRoot:
        def __init__(self) -> None:
            self._grammar = "root ::= [a]"

    monkeypatch.setattr(llama_grammar, "LlamaGrammar", GrammarWithoutRoot)
    monkeypatch.delattr(_ctypes_extensions, "load_shared_library")
    with pytest.raises(llama_internals.InternalsChanged) as raised:
        llama_internals.check()
    assert "LlamaGrammar._root" in str(raised.value) and "load_shared_library" in str(raised.value)
    assert "LlamaGrammar._grammar" not in str(raised.value)


def test_the_token_data_array_members_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from llama_cpp import _internals

    monkeypatch.delattr(_internals.LlamaTokenDataArray, "copy_logits")
    with pytest.raises(llama_internals.InternalsChanged, match=r"LlamaTokenDataArray\.copy_logits"):
        llama_internals.check()


def test_the_grammar_source_is_what_llama_cpp_parses() -> None:
    from llama_cpp.llama_grammar import LlamaGrammar

    grammar = LlamaGrammar.from_string('root ::= "yes" | "no"', verbose=False)
    text, root = llama_internals.grammar_source(grammar)
    assert root == "root" and '"yes"' in text
