"""Every git command Rudder runs itself goes through here, with git's command-executing config switched off.

A repository's config can make git run programs: `core.fsmonitor` on every status/add, hooks, `diff.external`,
filter drivers on add/checkout, textconv, pagers, editors, signing programs, credential helpers. Rudder runs
git outside the sandbox (checkpoints, undo, the git tools, the TUI's /diff), so a config written by the agent
or by whoever prepared the repository would run as the user. Each call here:

- refuses a `.git` that is not what `git init`, `git worktree add` or a submodule makes (a symlink, a file
  pointing anywhere else, a directory with a `commondir` that redirects its config): RepositoryError;
- overrides the command-executing keys git documents (NEUTRAL below) through GIT_CONFIG_COUNT, which wins
  over every config file, and blanks each filter/diff/merge/trailer driver and pager the config names;
- drops GIT_* variables that would point git elsewhere or run programs (GIT_DIR, GIT_EXTERNAL_DIFF, ...);
- runs the `git` found on PATH outside the repository (a `git` planted in a repo's .venv/bin is skipped).

Not covered: `uploadpack.packObjectsHook` and `remote.*` helpers (git reads them only for fetch/push, which
Rudder never runs; protocol.allow=never refuses every transport anyway).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rudder.tools.base import ToolError

GIT_TIMEOUT = 120  # seconds for one git command

# (key, value) pairs that switch off every config key git documents as running a program
NEUTRAL: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", "/dev/null"),
    ("core.sshCommand", ""),
    ("core.gitProxy", ""),
    ("core.askPass", ""),
    ("core.alternateRefsCommand", ""),
    ("core.pager", "cat"),
    ("core.editor", "true"),
    ("sequence.editor", "true"),
    ("diff.external", ""),  # empty makes `git diff` fail loudly; Rudder's diffs pass --no-ext-diff
    ("diff.ignoreSubmodules", "all"),  # status/diff would run git inside submodules, under their own config
    ("status.submoduleSummary", "false"),
    ("submodule.recurse", "false"),
    ("interactive.diffFilter", ""),
    ("credential.helper", ""),  # an empty value resets the list of helpers
    ("gpg.program", ""),
    ("gpg.openpgp.program", ""),
    ("gpg.x509.program", ""),
    ("gpg.ssh.program", ""),
    ("gpg.ssh.defaultKeyCommand", ""),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
    ("log.showSignature", "false"),
    ("protocol.allow", "never"),
    ("safe.bareRepository", "explicit"),  # a directory that merely looks like a bare repository is not one
    ("gc.auto", "0"),  # no background gc started by Rudder's commands
    ("maintenance.auto", "false"),
)
# per-driver keys that run a program: section -> variables to blank
_DRIVER_KEYS = {
    "filter": (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false")),
    "diff": (("command", ""), ("textconv", ""), ("cachetextconv", "false")),
    "merge": (("driver", ""),),
    "trailer": (("command", ""), ("cmd", "")),
}
# variables of the caller's environment that point git at another repository or make it run programs
_DROPPED_ENV = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_EXTERNAL_DIFF", "GIT_DIFF_OPTS", "GIT_SSH",
    "GIT_SSH_COMMAND", "GIT_ASKPASS", "SSH_ASKPASS", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "GIT_PAGER",
    "GIT_PROXY_COMMAND", "GIT_EXEC_PATH", "GIT_TEMPLATE_DIR",
)  # fmt: skip
_COMMAND_CONFIG = re.compile(r"GIT_CONFIG_(KEY|VALUE)_\d+$")
_FIXED_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "GIT_EDITOR": "true", "GIT_OPTIONAL_LOCKS": "0"}


class RepositoryError(ToolError):
    """The repository's `.git` is not a shape Rudder runs git in (or there is no repository)."""


@dataclass(frozen=True)
class GitLayout:
    """Where a work tree's git data lives, after its `.git` passed `check_git_entry`."""

    work_tree: Path  # the directory holding `.git`
    git_dir: Path  # this work tree's git directory (`.git`, or .git/worktrees/<name> of the main repository)
    common_dir: Path  # objects, refs and config shared by all linked worktrees


def locate(path: str | os.PathLike[str]) -> GitLayout:
    """The work tree whose `.git` git would find from `path` (walking up), checked; RepositoryError if none."""
    start = Path(path).resolve()
    if not start.exists():
        raise RepositoryError(f"not a git repository: {path} does not exist")
    for directory in (start, *start.parents):
        if os.path.lexists(directory / ".git"):
            return check_git_entry(directory)
    raise RepositoryError(f"not a git repository: {path} (run `git init` there first)")


def check_git_entry(work_tree: Path) -> GitLayout:
    """`work_tree/.git` as git init, git worktree add or git submodule make it; RepositoryError otherwise."""
    entry = work_tree / ".git"
    if entry.is_symlink():
        raise _refuse(entry, f"is a symbolic link (to {os.readlink(entry)})")
    if entry.is_dir():
        _check_git_dir(entry, entry)
        return GitLayout(work_tree, entry, entry)
    if not entry.is_file():
        raise _refuse(entry, "is neither a directory nor a gitdir file")
    try:
        text = entry.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise _refuse(entry, f"cannot be read ({exc})") from exc
    if not text.startswith("gitdir:"):
        raise _refuse(entry, "is a file that does not start with 'gitdir:'")
    target = Path(os.path.normpath(work_tree / text.removeprefix("gitdir:").strip()))
    if _is_linked_worktree(entry, target):
        return GitLayout(work_tree, target, target.parent.parent)
    if _is_submodule(work_tree, target):
        _check_git_dir(entry, target)
        return GitLayout(work_tree, target, target)
    raise _refuse(entry, f"points to {target}, which is neither a linked worktree nor a submodule of this repository")


def _check_git_dir(entry: Path, git_dir: Path) -> None:
    if git_dir.is_symlink() or not git_dir.is_dir():
        raise _refuse(entry, f"points to {git_dir}, which is not a directory")
    if not (git_dir / "HEAD").exists() or not (git_dir / "objects").is_dir():
        raise _refuse(entry, f"has no HEAD or objects/ in {git_dir}")
    if os.path.lexists(git_dir / "commondir"):
        raise _refuse(entry, f"has a commondir file in {git_dir}, which would make git read another config")
    if (git_dir / "config").is_symlink():
        raise _refuse(entry, f"has a config in {git_dir} that is a symbolic link")


def _is_linked_worktree(entry: Path, target: Path) -> bool:
    """`git worktree add` writes .git -> <common>/worktrees/<name>, whose gitdir file points back here."""
    if target.parent.name != "worktrees" or not target.is_dir() or target.is_symlink():
        return False
    try:
        back = Path((target / "gitdir").read_text(encoding="utf-8").strip())
        common = Path(os.path.normpath(target / (target / "commondir").read_text(encoding="utf-8").strip()))
    except (OSError, UnicodeDecodeError):
        return False
    if common != target.parent.parent or back.resolve() != entry.resolve():
        return False
    try:
        _check_git_dir(entry, common)
    except RepositoryError:
        return False
    return True


def _is_submodule(work_tree: Path, target: Path) -> bool:
    """A submodule's .git points into <superproject>/.git/modules/."""
    for ancestor in work_tree.parents:
        modules = ancestor / ".git" / "modules"
        if modules.is_dir() and not (ancestor / ".git").is_symlink() and modules in target.parents:
            return True
    return False


def _refuse(entry: Path, why: str) -> RepositoryError:
    return RepositoryError(
        f"refusing to run git in {entry.parent}: {entry} {why}. Rudder runs git only in a .git directory made by "
        "git init, a linked worktree or a submodule; restore .git (or re-clone) and try again"
    )


def git_executable(avoid: Path | None = None) -> str:
    """The `git` on PATH, skipping PATH entries inside `avoid` (a repository the agent can write to)."""
    return _git_on_path(os.environ.get("PATH", os.defpath), avoid)


@lru_cache(maxsize=16)
def _git_on_path(path: str, avoid: Path | None) -> str:
    dirs = path.split(os.pathsep)
    if avoid is not None:
        dirs = [d for d in dirs if d and not _inside(Path(d), avoid)]
    found = shutil.which("git", path=os.pathsep.join(dirs))
    if found is None:
        raise ToolError("git is not installed or not on PATH")
    return found


def _inside(path: Path, folder: Path) -> bool:
    try:
        resolved = path.resolve()
    except OSError:
        return False
    return resolved == folder or folder in resolved.parents


def hardened_env(overrides: Iterable[tuple[str, str]] = (), extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for one git command: the caller's, less _DROPPED_ENV, plus NEUTRAL and `overrides`
    as command-line config (GIT_CONFIG_COUNT: it wins over every config file and reaches git's children)."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV and not _COMMAND_CONFIG.match(k)}
    env.update(_FIXED_ENV)
    pairs = [*NEUTRAL, *overrides]
    env["GIT_CONFIG_COUNT"] = str(len(pairs))
    for i, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    env.update(extra or {})
    return env


def driver_overrides(git: str, cwd: Path) -> list[tuple[str, str]]:
    """Blank values for every filter/diff/merge/trailer driver and pager the config of `cwd` defines."""
    done = subprocess.run(
        [git, "config", "--null", "--get-regexp", r"^(filter|diff|merge|trailer|pager)\."],
        cwd=cwd, env=hardened_env(), capture_output=True, timeout=GIT_TIMEOUT, check=False,
    )  # fmt: skip
    if done.returncode not in (0, 1):  # 1: no such keys
        message = done.stderr.decode("utf-8", errors="replace").strip()
        raise ToolError(f"git config failed: {message or f'exit code {done.returncode}'}")
    out: list[tuple[str, str]] = []
    for item in done.stdout.decode("utf-8", errors="surrogateescape").split("\0"):
        key = item.partition("\n")[0]
        section, _, rest = key.partition(".")
        if section == "pager" and rest:
            out.append((key, "false"))
            continue
        driver = rest.rpartition(".")[0]
        for variable, value in _DRIVER_KEYS.get(section, ()) if driver else ():
            pair = (f"{section}.{driver}.{variable}", value)
            if pair not in out:
                out.append(pair)
    return out


# the drivers each config state names, so that a command does not pay for `git config` again (it was one more
# git process per git command): keyed by the config files' whole content, see _config_state
_DRIVERS: dict[tuple[object, ...], list[tuple[str, str]]] = {}
_DRIVERS_KEPT = 64
_INCLUDE = re.compile(rb"include", re.IGNORECASE)  # [include] / [includeIf]: any mention, to be safe


def _config_files(git: str, layout: GitLayout) -> list[Path]:
    """Every file `git config` may read in this repository (a superset: a file that does not exist counts too)."""
    env = os.environ
    files = []
    if not env.get("GIT_CONFIG_NOSYSTEM"):
        system = env.get("GIT_CONFIG_SYSTEM")  # else git's compiled-in $(prefix)/etc/gitconfig; /etc for /usr
        prefix = Path(git).resolve().parents[1]
        files += [Path(system)] if system else [Path("/etc/gitconfig"), prefix / "etc" / "gitconfig"]
    if env.get("GIT_CONFIG_GLOBAL"):
        files.append(Path(env["GIT_CONFIG_GLOBAL"]))
    else:
        home = Path(env.get("HOME") or Path.home())
        files += [Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "git" / "config", home / ".gitconfig"]
    return [*files, layout.common_dir / "config", layout.git_dir / "config.worktree"]


def _config_state(git: str, layout: GitLayout) -> tuple[object, ...] | None:
    """The config files' paths and contents, or None when a cached answer could be stale: a file that cannot be
    read, or an include (it pulls in files not listed here). Contents, not mtimes: an edit within one mtime tick
    that keeps the size must still be seen."""
    state: list[object] = [git, os.environ.get("GIT_CONFIG_NOSYSTEM", "")]
    for path in _config_files(git, layout):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = None
        except OSError:
            return None
        if data is not None and _INCLUDE.search(data):
            return None
        state.append((str(path), data))
    return tuple(state)


def cached_driver_overrides(git: str, cwd: Path, layout: GitLayout) -> list[tuple[str, str]]:
    """driver_overrides, asked again only when a config file git reads has changed (or includes another)."""
    state = _config_state(git, layout)
    if state is None:
        return driver_overrides(git, cwd)
    found = _DRIVERS.get(state)
    if found is None:
        if len(_DRIVERS) >= _DRIVERS_KEPT:
            _DRIVERS.clear()
        found = _DRIVERS[state] = driver_overrides(git, cwd)
    return list(found)


def run_git(cwd: str | os.PathLike[str], *args: str, env: dict[str, str] | None = None, repository: bool = True) -> str:
    """`git args...` in `cwd`, hardened; its stdout (one trailing newline removed), or ToolError with git's
    message. `repository=False` for commands that make a repository (`init`) rather than run inside one."""
    cwd = Path(cwd)
    layout = locate(cwd) if repository else None
    git = git_executable(avoid=layout.work_tree if layout else None)
    overrides = cached_driver_overrides(git, cwd, layout) if layout else []  # even write-tree can run a clean filter
    try:
        done = subprocess.run(
            [git, "--no-pager", *args], cwd=cwd, env=hardened_env(overrides, env), capture_output=True,
            stdin=subprocess.DEVNULL, timeout=GIT_TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"git {args[0]} did not finish within {GIT_TIMEOUT} s") from exc
    except OSError as exc:
        raise ToolError(f"cannot run git: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        message = (done.stderr or done.stdout).decode("utf-8", errors="replace").strip()
        raise ToolError(f"git {args[0]} failed: {message or f'exit code {done.returncode}'}")
    out = done.stdout.decode("utf-8", errors="surrogateescape")
    return out[:-1] if out.endswith("\n") else out
