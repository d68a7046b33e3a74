"""The AMX guess (rudder/engine/amx.py) and the load parameter it sets (llama_internals.model_params)."""

from __future__ import annotations

from pathlib import Path

import llama_cpp

from rudder.engine import amx, llama_internals


def test_extra_buffers_are_off_on_any_cpu_that_advertises_amx() -> None:
    assert amx.extra_buffers({"avx512f", "amx_tile", "hypervisor"}, env={}) is False
    # bare metal too: the crash is the build's tile configuration, not the hypervisor (amx.py)
    assert amx.extra_buffers({"avx512f", "amx_tile"}, env={}) is False
    assert amx.extra_buffers({"avx2", "hypervisor"}, env={}) is True
    assert amx.extra_buffers({"amx_tile", "hypervisor"}, env={amx.ENV: "1"}) is True
    assert amx.extra_buffers({"avx2"}, env={amx.ENV: "0"}) is False


def test_the_guess_says_why() -> None:
    assert amx.decide({"amx_tile"}, env={})[1].startswith("this CPU has AMX")
    assert amx.decide({"avx2"}, env={}) == (True, "llama.cpp's default")
    assert amx.decide({"avx2"}, env={amx.ENV: "0"}) == (False, f"${amx.ENV}=0")  # not blamed on AMX


def test_cpu_flags_reads_the_flags_line(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_tile hypervisor\n\nprocessor\t: 1\nflags\t: fpu\n")
    assert amx.cpu_flags(info) == {"fpu", "avx2", "amx_tile", "hypervisor"}
    assert amx.cpu_flags(tmp_path / "missing") == set()


def test_model_params_sets_the_load_parameter_for_the_block_only() -> None:
    module = llama_cpp.llama_cpp
    with llama_internals.model_params(use_extra_bufts=False):
        assert module.llama_model_default_params().use_extra_bufts is False
    assert module.llama_model_default_params().use_extra_bufts is True
    with llama_internals.model_params(use_extra_bufts=True):
        assert module.llama_model_default_params().use_extra_bufts is True

