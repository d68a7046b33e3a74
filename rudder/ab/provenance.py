"""What a result was made with, for the report: Rudder's commit, the machine (CPU model and the SIMD flags
that change llama.cpp's kernels, hence greedy outputs), and the date. Read once per `rudder ab run`."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path
from typing import Any

from rudder.engine.amx import extra_buffers

# the CPU features that pick llama.cpp's kernels (x86 and ARM); others say nothing about results
KERNEL_FLAGS = (
    "sse3", "ssse3", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
    "avx_vnni", "amx_tile", "amx_int8", "amx_bf16", "asimd", "asimddp", "sve", "sve2", "i8mm", "bf16",
)  # fmt: skip
SOURCE = Path(__file__).resolve().parents[2]


def rudder_commit(source: Path = SOURCE) -> str:
    """HEAD of the checkout Rudder runs from, with "+dirty" when tracked files differ; "unknown" outside git."""
    from rudder.tools.base import ToolError
    from rudder.tools.safegit import run_git

    try:
        head = run_git(source, "rev-parse", "HEAD").strip()
        dirty = run_git(source, "status", "--porcelain", "--untracked-files=no").strip()
    except (ToolError, OSError):  # RepositoryError is a ToolError: not a repository, or a refused one
        return "unknown"
    return head + ("+dirty" if dirty else "")


def cpu_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, Any]:
    """CPU model, the kernel-relevant flags it has, and the core count."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key in ("model name", "hardware", "cpu model") and value.strip():
                model = value.strip()
            elif key in ("flags", "features"):
                flags.update(value.split())
                if "pni" in flags:  # Linux's name for SSE3
                    flags.add("sse3")
    except OSError:
        pass
    return {
        "cpu": model,
        "flags": [f for f in KERNEL_FLAGS if f in flags],
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.machine()}",
        # off on a CPU advertising AMX (rudder/engine/amx.py): then the AMX flags above pick no kernel
        "extra_buffers": extra_buffers(flags),
    }


def provenance() -> dict[str, Any]:
    return {
        "commit": rudder_commit(),
        "machine": cpu_info(),
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def describe_machine(machine: dict[str, Any] | None) -> str:
    if not machine:
        return "not recorded"
    flags = " ".join(machine.get("flags") or []) or "none of the kernel-relevant ones"
    off = "; llama.cpp extra (AMX) buffers off" if machine.get("extra_buffers") is False else ""
    return f"{machine.get('cpu')}, {machine.get('cores')} cores ({machine.get('system')}); flags: {flags}{off}"
