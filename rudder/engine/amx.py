"""Whether llama.cpp may put weights in its "extra" CPU buffers (AMX tiles), decided before a model loads.

A llama.cpp built natively on a CPU that advertises AMX (`amx_tile` in /proc/cpuinfo) keeps Q4/Q8 weights
in an AMX buffer and multiplies them with tile instructions. On the project's machine of 2026-12-07 (a
Firecracker VM, "Intel(R) Xeon(R) Processor", kernel 6.18-fc, GCC 12.2) the first decode of two or more
tokens dies with SIGILL on `tileloadd`/`tilezero` (dmesg: "trap invalid opcode ... in libggml-cpu.so").
The cause is the compiled kernel, not the VM: in that build's `ggml_backend_amx_mul_mat` the tile
configuration is zeroed and only `palette_id = 1` is stored before `ldtilecfg` (objdump; the compiler
dropped the stores of the rows and column widths), so every tile has 0 rows and the first tile load is an
invalid opcode. Upstream llama.cpp PR 26954 reports the same (the config on the stack is optimised away).
The VM keeps tile state: a C program that requests AMX with `arch_prctl`, configures tiles itself and runs
2e9 `tileloadd` over 8 s of context switches does not fault. So a bare-metal Xeon with AMX gets the same
crash from the same build, and the guess does not look for a hypervisor.

Without the extra buffers llama.cpp multiplies the same weights with its AVX-512 kernels, which work. So on
a CPU that advertises AMX the extra buffers are off (repacked layouts go with them: a little speed for some
quantisations); everywhere else llama.cpp's default (on) stands. RUDDER_LLAMA_EXTRA_BUFFERS=1 or 0
overrides the guess either way (1 for a llama.cpp whose AMX kernels are known good).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "RUDDER_LLAMA_EXTRA_BUFFERS"


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The first CPU's flags (empty where there is no /proc/cpuinfo, e.g. macOS)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def extra_buffers(flags: set[str] | None = None, env: dict[str, str] | None = None) -> bool:
    """True = llama.cpp's default (extra buffers, AMX where the build has it); False on a CPU advertising AMX."""
    return decide(flags, env)[0]


def decide(flags: set[str] | None = None, env: dict[str, str] | None = None) -> tuple[bool, str]:
    """The guess and why it was made, as `rudder doctor` says it."""
    override = (os.environ if env is None else env).get(ENV, "").strip()
    if override in ("0", "1"):
        return override == "1", f"${ENV}={override}"
    if "amx_tile" in (cpu_flags() if flags is None else flags):
        return False, f"this CPU has AMX, whose kernels crash as llama.cpp is built here; ${ENV}=1 to use them"
    return True, "llama.cpp's default"
