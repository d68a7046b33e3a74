"""Whether llama.cpp may put weights in its "extra" CPU buffers (AMX tiles), decided before a model loads.

A llama.cpp built natively on a CPU that advertises AMX (`amx_tile` in /proc/cpuinfo) keeps Q4/Q8 weights
in an AMX buffer and multiplies them with tile instructions. On the project's machine of 2026-12-07 (a
Firecracker VM, "Intel(R) Xeon(R) Processor", kernel 6.18-fc) the CPU and the kernel both report AMX and
`arch_prctl(ARCH_REQ_XCOMP_PERM)` grants it, yet the first decode dies with SIGILL on `tileloadd`/`tilezero`
(dmesg: "trap invalid opcode ... in libggml-cpu.so"): the hypervisor does not keep the tile state. Without
the extra buffers llama.cpp multiplies the same weights with its AVX-512 kernels, which work there.

So on a virtual machine whose CPU advertises AMX the extra buffers are off; everywhere else llama.cpp's
default (on) stands. RUDDER_LLAMA_EXTRA_BUFFERS=1 or 0 overrides the guess either way.
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
    """True = llama.cpp's default (extra buffers, AMX where the build has it); False on an AMX-advertising VM."""
    override = (os.environ if env is None else env).get(ENV, "").strip()
    if override in ("0", "1"):
        return override == "1"
    flags = cpu_flags() if flags is None else flags
    return not ("amx_tile" in flags and "hypervisor" in flags)
