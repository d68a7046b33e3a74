"""Shell commands in a bubblewrap sandbox: the whole machine read-only, the repository writable.

Inside: `/` read-only, the repository read-write, a private empty /tmp, fresh /dev and /proc, its own
process namespace (the command sees and can signal only its own processes), and no network unless the
user allows it. HOME stays readable (git and tools read their config there) but not writable; caches go
to the private /tmp.

What Rudder itself reads or runs later stays out of the command's reach, because Rudder (and git, through
it) acts on it outside the sandbox: `.git`, `.rudder/` and `.rudder.toml` are read-only mount points. A
mount point cannot be renamed, deleted or replaced (EBUSY), so `mv .git x; cp -r x .git` fails, and
`.git`'s content (hooks, config, objects, Rudder's checkpoints and trajectories) is read-only: git
commands that only read work inside, commits go through the git_commit tool. Where `.rudder` or
`.rudder.toml` does not exist, an empty read-only placeholder is mounted there for the command's duration
(the mount point appears on the host while it runs and is removed when it ends, if still empty), so the
command cannot create them either. Rudder's own installation and the PATH directories that lie inside
the repository (an activated .venv/bin) are read-only too: programs started by name from there run outside
the sandbox later. See docs/security.md.

`choose_sandbox("auto" | "off" | "required", network)` gives a Sandbox where `bwrap` exists and works
(unprivileged user namespaces may be disabled), None otherwise; "required" raises instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rudder.tools.base import ToolError
from rudder.util.dirs import REPO_CONFIG, REPO_DIR

# read-only mount points inside the sandbox; the value says which placeholder stands in for a missing one
PROTECTED = {".git": None, REPO_DIR: "dir", REPO_CONFIG: "file"}
RUDDER_PACKAGE = Path(__file__).resolve().parents[1]


class SandboxUnavailable(Exception):
    """agent.sandbox = "required", but bubblewrap is missing or does not work here."""


@dataclass(frozen=True)
class Sandbox:
    bwrap: str
    network: bool = False

    @contextmanager
    def command(self, argv: list[str], root: Path) -> Iterator[list[str]]:
        """`argv` run by bwrap in `root` (absolute, resolved); the placeholders it mounts are removed from
        the host again when the block ends."""
        for rel in PROTECTED:
            if (root / rel).is_symlink():
                raise ToolError(
                    f"{rel} in {root} is a symbolic link; the sandbox can only protect a real file or directory "
                    f"there (replace the link with what it points to)"
                )
        missing = [rel for rel in PROTECTED if PROTECTED[rel] and not os.path.lexists(root / rel)]
        with tempfile.TemporaryDirectory(prefix="rudder-sandbox-") as scratch:
            empty = {"dir": Path(scratch) / "empty", "file": Path(scratch) / "empty.toml"}
            empty["dir"].mkdir()
            empty["file"].touch()
            placeholders = {rel: empty[str(PROTECTED[rel])] for rel in missing}
            exclude = root / ".git" / "info" / "exclude"
            if missing and exclude.is_file() and not exclude.is_symlink():
                # git inside the sandbox is not to list the placeholders as untracked files
                hidden = Path(scratch) / "exclude"
                hidden.write_bytes(exclude.read_bytes() + "".join(f"\n/{rel}" for rel in missing).encode())
                placeholders[".git/info/exclude"] = hidden
            try:
                yield self.wrap(argv, root, placeholders)
            finally:
                _remove_placeholders(root, missing)

    def wrap(self, argv: list[str], root: Path, placeholders: dict[str, Path]) -> list[str]:
        """The bwrap command line; `placeholders` maps a protected name to what is bound there instead (an
        empty directory or file for a missing one, git's exclude file with the placeholders added)."""
        cmd = [self.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        for tool_dir in tool_dirs_under_tmp():  # e.g. Rudder's own venv in a clone under /tmp
            cmd += ["--ro-bind", str(tool_dir), str(tool_dir)]
        cmd += ["--bind", str(root), str(root)]  # after --tmpfs /tmp, so a repository under /tmp stays visible
        for rel in [*PROTECTED, *(rel for rel in placeholders if rel not in PROTECTED)]:
            target = root / rel
            source = placeholders.get(rel, target if os.path.lexists(target) else None)
            if source is not None:
                cmd += ["--ro-bind", str(source), str(target)]
        for own in runs_from_inside(root):  # a .venv in the repository: Rudder's, or on PATH
            cmd += ["--ro-bind", str(own), str(own)]
        # --cap-drop ALL: bwrap started by root keeps every capability otherwise, and CAP_SYS_ADMIN can
        # simply umount the read-only binds above (then `mv .git x` works again)
        cmd += ["--cap-drop", "ALL", "--new-session", "--unshare-pid", "--unshare-ipc", "--die-with-parent"]
        cmd += ["--chdir", str(root)]
        if not self.network:
            cmd.append("--unshare-net")
        cmd += ["--setenv", "TMPDIR", "/tmp", "--setenv", "XDG_CACHE_HOME", "/tmp/.cache"]
        return [*cmd, "--", *argv]

    def describe(self) -> str:
        net = "network on" if self.network else "no network"
        return (
            "bubblewrap sandbox: only the repository and a private /tmp are writable, and in the repository "
            f".git, .rudder and .rudder.toml are read-only (commit with the git_commit tool); {net}"
        )


def _remove_placeholders(root: Path, missing: list[str]) -> None:
    """Remove the mount points bwrap made on the host for missing names, if nobody has put anything there."""
    for rel in missing:
        path = root / rel
        try:
            if PROTECTED[rel] == "dir" and path.is_dir() and not path.is_symlink():
                path.rmdir()  # fails (and so keeps it) unless empty
            elif path.is_file() and not path.is_symlink() and path.stat().st_size == 0:
                path.unlink()
        except OSError:
            continue


def _existing_dirs_within(top: Path, candidates: list[Path], *, including_top: bool) -> list[Path]:
    """The candidates that resolve to a directory inside `top` (or `top` itself when including_top), once each."""
    found: list[Path] = []
    for path in candidates:
        try:
            resolved = path.resolve()
        except OSError:
            continue
        inside = top in resolved.parents or (including_top and resolved == top)
        if inside and resolved.is_dir() and resolved not in found:
            found.append(resolved)
    return found


def _path_entries() -> list[Path]:
    return [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]


def runs_from_inside(root: Path) -> list[Path]:
    """Directories inside `root` whose code runs outside the sandbox later: Rudder's own package and Python
    environment, and PATH entries (an activated .venv/bin: Rudder starts bwrap and setpriv, the user's shell
    anything, by name from there)."""
    return _existing_dirs_within(root, [RUDDER_PACKAGE, Path(sys.prefix), *_path_entries()], including_top=True)


def tool_dirs_under_tmp() -> list[Path]:
    """Directories the sandboxed command needs that live under /tmp, which the sandbox replaces with an empty
    tmpfs: the Python environment Rudder runs in (tests and tools use it) and the PATH entries there."""
    candidates = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).parent, *_path_entries()]
    return _existing_dirs_within(Path("/tmp").resolve(), candidates, including_top=False)


@lru_cache(maxsize=4)
def probe_bwrap(bwrap: str) -> str:
    """ "" if `bwrap` can start a sandbox here (it needs root or unprivileged user namespaces), else why not:
    bwrap's own first error line, or how it failed to run."""
    probe = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-net", "--", "true"]
    try:
        done = subprocess.run(probe, capture_output=True, timeout=20, check=False, text=True, errors="replace")
    except subprocess.TimeoutExpired:
        return "it did not start a sandbox within 20 s"
    except OSError as exc:
        return f"it cannot be run ({exc.strerror or exc})"
    if done.returncode == 0:
        return ""
    said = next((line.strip() for line in done.stderr.splitlines() if line.strip()), "")
    return f"{said} (exit status {done.returncode})" if said else f"it exited with status {done.returncode}"


def bwrap_works(bwrap: str) -> bool:
    """True if `bwrap` can start a sandbox here."""
    return not probe_bwrap(bwrap)


def choose_sandbox(setting: str, network: bool = False) -> Sandbox | None:
    """The sandbox for `agent.sandbox = setting`, or None when there is none to use."""
    if setting == "off":
        return None
    bwrap = shutil.which("bwrap")
    if bwrap is not None and bwrap_works(bwrap):
        return Sandbox(bwrap, network=network)
    if setting == "required":
        why = (
            "bwrap is not installed" if bwrap is None else f"{bwrap} cannot create a sandbox here: {probe_bwrap(bwrap)}"
        )
        raise SandboxUnavailable(
            f'agent.sandbox = "required", but {why} (install the `bubblewrap` package, or set sandbox = "auto")'
        )
    return None
