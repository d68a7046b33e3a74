"""Shell commands in a bubblewrap sandbox: the whole machine read-only, the repository writable.

Inside: `/` read-only, the repository read-write, a private empty /tmp, fresh /dev and /proc, its own
process namespace (the command sees and can signal only its own processes), and no network unless the
user allows it. Git's hooks and config and Rudder's own files in the repository stay read-only, because
git runs hooks outside the sandbox later. HOME stays readable (git and tools read their config there)
but not writable; caches go to the private /tmp.

`choose_sandbox("auto" | "off" | "required", network)` gives a Sandbox where `bwrap` exists and works
(unprivileged user namespaces may be disabled), None otherwise; "required" raises instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rudder.util.dirs import REPO_CONFIG, REPO_DIR

# paths inside the repository that stay read-only even in the sandbox (when they exist)
PROTECTED = (".git/hooks", ".git/config", REPO_DIR, REPO_CONFIG)


class SandboxUnavailable(Exception):
    """agent.sandbox = "required", but bubblewrap is missing or does not work here."""


@dataclass(frozen=True)
class Sandbox:
    bwrap: str
    network: bool = False

    def wrap(self, argv: list[str], root: Path) -> list[str]:
        """`argv` run by bwrap with `root` (absolute, resolved) as the only writable directory."""
        cmd = [self.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        for tool_dir in tool_dirs_under_tmp():  # e.g. Rudder's own venv in a clone under /tmp
            cmd += ["--ro-bind", str(tool_dir), str(tool_dir)]
        cmd += ["--bind", str(root), str(root)]  # after --tmpfs /tmp, so a repository under /tmp stays visible
        for rel in PROTECTED:
            if (root / rel).exists():
                cmd += ["--ro-bind", str(root / rel), str(root / rel)]
        cmd += ["--unshare-pid", "--unshare-ipc", "--die-with-parent", "--chdir", str(root)]
        if not self.network:
            cmd.append("--unshare-net")
        cmd += ["--setenv", "TMPDIR", "/tmp", "--setenv", "XDG_CACHE_HOME", "/tmp/.cache"]
        return [*cmd, "--", *argv]

    def describe(self) -> str:
        net = "network on" if self.network else "no network"
        return f"bubblewrap sandbox: only the repository and a private /tmp are writable, {net}"


def tool_dirs_under_tmp() -> list[Path]:
    """Directories the sandboxed command needs that live under /tmp, which the sandbox replaces with an empty
    tmpfs: the Python environment Rudder runs in (tests and tools use it) and the PATH entries there."""
    tmp = Path("/tmp").resolve()
    candidates = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).parent]
    candidates += [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    found: list[Path] = []
    for path in candidates:
        try:
            resolved = path.resolve()
        except OSError:
            continue
        if resolved.is_dir() and tmp in resolved.parents and resolved not in found:
            found.append(resolved)
    return found


@lru_cache(maxsize=4)
def bwrap_works(bwrap: str) -> bool:
    """True if `bwrap` can start a sandbox here (it needs root or unprivileged user namespaces)."""
    probe = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-net", "--", "true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=20, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def choose_sandbox(setting: str, network: bool = False) -> Sandbox | None:
    """The sandbox for `agent.sandbox = setting`, or None when there is none to use."""
    if setting == "off":
        return None
    bwrap = shutil.which("bwrap")
    if bwrap is not None and bwrap_works(bwrap):
        return Sandbox(bwrap, network=network)
    if setting == "required":
        why = "bwrap is not installed" if bwrap is None else f"{bwrap} cannot create a sandbox here"
        raise SandboxUnavailable(
            f'agent.sandbox = "required", but {why} (install the `bubblewrap` package, or set sandbox = "auto")'
        )
    return None
