"""llama.cpp's extra CPU buffer types (repacked and AMX weight layouts): the config's choice is what loads.

On the Sapphire Rapids VM of 2026-12-07 the AMX kernels killed processes with an illegal instruction
(`tileloadd`); a loaded engine must therefore say, and honour, which layouts it asked llama.cpp for."""

from __future__ import annotations

import llama_cpp
import pytest

from rudder.engine import amx, llama_internals
from rudder.engine.config import EngineConfig
from rudder.engine.engine import Engine
from rudder.engine.loading import extra_buffers

pytestmark = pytest.mark.slow


def test_auto_is_the_amx_guess_and_the_shared_engine_was_loaded_with_it(engine) -> None:
    assert extra_buffers(EngineConfig()) is amx.extra_buffers()
    assert llama_internals.uses_extra_buffers(engine.llama) is amx.extra_buffers()


@pytest.mark.parametrize("setting", ["on", "off"])
def test_a_setting_is_what_the_model_is_loaded_with(tiny_model, setting: str) -> None:
    eng = Engine(EngineConfig(model_path=tiny_model("llama"), n_ctx=256, n_threads=1, cpu_extra_buffers=setting))
    try:
        assert llama_internals.uses_extra_buffers(eng.llama) is (setting == "on")
        # the loader's wrapper is gone afterwards: a plain Llama gets llama.cpp's own default again
        assert llama_cpp.llama_cpp.llama_model_default_params().use_extra_bufts
    finally:
        eng.close()


def test_the_prompt_cache_key_differs_with_the_layouts(tiny_model) -> None:
    keys = []
    for setting in ("on", "off"):
        eng = Engine(EngineConfig(model_path=tiny_model("llama"), n_ctx=256, n_threads=1, cpu_extra_buffers=setting))
        try:
            keys.append(llama_internals.context_settings(eng.llama))
        finally:
            eng.close()
    assert keys[0] != keys[1]
