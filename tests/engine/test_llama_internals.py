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
