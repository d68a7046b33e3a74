"""The git plumbing under checkpoints: the work tree as a git tree object, the difference of two trees,
and writing chosen files back from a tree.

A snapshot is written through a private index file (.git/rudder/index), never the user's index. It holds
tracked files plus untracked files git does not ignore, within the workspace, minus Rudder's own state
(.rudder/) and untracked files larger than MAX_SNAPSHOT_FILE. Two additions:
- `paths`: only these paths are refreshed (a write_file step touches one file: no scan of the tree);
- `ignored`: ignored files to include as well (a shell step can `git clean -fdx` a `.env` away; see
  `small_ignored_files` for the bound).

Every git command goes through `GitTrees.git`, which runs it through safegit (no hooks, fsmonitor, filters
or other command-running config from the repository).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rudder.tools.safegit import run_git  # hardened: no hooks, fsmonitor or command-running config
from rudder.util.dirs import REPO_DIR

MAX_SNAPSHOT_FILE = 50 * 1024 * 1024  # untracked files above this size are left out of snapshots
EXCLUDED = (REPO_DIR,)  # Rudder's own state (trajectories) is not part of a step's changes
# ignored files a shell step could delete are kept when each is at most this big, up to these totals
IGNORED_FILE_MAX = 1024 * 1024
IGNORED_TOTAL_MAX = 32 * 1024 * 1024
IGNORED_COUNT_MAX = 2000
TEMP_SUFFIX = ".rudder-tmp"  # rudder.util.files' half-written files: `.NAME.XXXX.rudder-tmp`
_GITLINK = "160000"  # submodules and nested repositories: recorded by commit, never restored
_IDENTITY = {
    "GIT_AUTHOR_NAME": "rudder",
    "GIT_AUTHOR_EMAIL": "rudder@localhost",
    "GIT_COMMITTER_NAME": "rudder",
    "GIT_COMMITTER_EMAIL": "rudder@localhost",
}
_CHUNK = 500  # paths per git command line


class GitTrees:
    """Snapshots of one workspace (`scope`, relative to the work tree top) in private git objects."""

    def __init__(self, work_tree: Path, git_dir: Path, scope: str, common_dir: Path) -> None:
        self.work_tree, self.git_dir, self.scope, self.common_dir = work_tree, git_dir, scope, common_dir
        self.state = git_dir / "rudder"
        self.index = self.state / "index"

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        return run_git(self.work_tree, *args, env={**_IDENTITY, **(env or {})})

    # -- snapshots --------------------------------------------------------------------------------------

    def snapshot(self, paths: list[str] | None = None, ignored: list[str] | None = None) -> str:
        """The workspace (or just `paths` in it) as a git tree object, plus the `ignored` files that exist."""
        self.state.mkdir(parents=True, exist_ok=True)
        if not self.index.exists() and (self.git_dir / "index").exists():
            shutil.copyfile(self.git_dir / "index", self.index)  # its stat cache spares rehashing every file
        env = {"GIT_INDEX_FILE": str(self.index)}
        if paths is None:
            scope = f":(literal){self.scope}"
            excludes = [f":(exclude,literal){_under(self.scope, name)}" for name in EXCLUDED]
            excludes += [f":(exclude,literal){path}" for path in self._large_untracked(scope, excludes)]
            self.git("add", "--all", "--", scope, *excludes, env=env)
        else:
            files = [path for path in paths if not _is_directory(self.work_tree / path)]
            for chunk in _chunks(files):  # update-index: a path that is gone (or never was) is no error
                self.git("update-index", "--add", "--remove", "--", *chunk, env=env)
        present = [path for path in ignored or [] if os.path.lexists(self.work_tree / path)]
        if not present:
            return self.git("write-tree", env=env)
        extra = self.state / "ignored-index"  # ignored files never enter the private index itself
        shutil.copyfile(self.index, extra)
        try:
            for chunk in _chunks(present):
                self.git("add", "--force", "--", *literal(chunk), env={"GIT_INDEX_FILE": str(extra)})
            return self.git("write-tree", env={"GIT_INDEX_FILE": str(extra)})
        finally:
            extra.unlink(missing_ok=True)

    def small_ignored_files(self) -> list[str]:
        """Ignored files a step could delete that are cheap to keep: regular files and symlinks outside
        ignored directories (`.env`, `local.cfg`, `*.log`), each <= IGNORED_FILE_MAX, in name order until
        IGNORED_TOTAL_MAX bytes or IGNORED_COUNT_MAX files. Ignored directories (.venv, node_modules,
        build/) are not entered: they are usually rebuilt, and walking them would cost every shell step."""
        scope = f":(literal){self.scope}"
        excludes = [f":(exclude,literal){_under(self.scope, name)}" for name in EXCLUDED]
        listed = self.git("ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory",
                          "--", scope, *excludes)  # fmt: skip
        kept, total = [], 0
        for rel in sorted(filter(None, listed.split("\0"))):
            if rel.endswith("/") or rel.endswith(TEMP_SUFFIX):
                continue
            try:
                size = (self.work_tree / rel).lstat().st_size
            except OSError:
                continue
            if size > IGNORED_FILE_MAX or total + size > IGNORED_TOTAL_MAX or len(kept) >= IGNORED_COUNT_MAX:
                continue
            kept.append(rel)
            total += size
        return kept

    def _large_untracked(self, scope: str, excludes: list[str]) -> list[str]:
        listed = self.git("ls-files", "--others", "--exclude-standard", "-z", "--", scope, *excludes,
                          env={"GIT_INDEX_FILE": str(self.index)})  # fmt: skip
        large = []
        for rel in filter(None, listed.split("\0")):
            try:
                info = (self.work_tree / rel).lstat()
            except OSError:
                continue
            if info.st_size > MAX_SNAPSHOT_FILE and not os.path.islink(self.work_tree / rel):
                large.append(rel)
        return large

    # -- comparing and restoring ------------------------------------------------------------------------

    def changes(self, before: str, after: str, paths: list[str] | None = None) -> list[tuple[str, str]]:
        """(A|M|D|T, path) for every file that differs between two trees, within `paths` if given."""
        if paths is not None and not paths:
            return []
        out: list[tuple[str, str]] = []
        for chunk in _chunks(paths) if paths is not None else [[]]:
            raw = self.git("diff-tree", "-r", "-z", "--no-renames", before, after, "--", *literal(chunk))
            items = raw.split("\0")
            for meta, path in zip(items[::2], items[1::2], strict=False):
                old_mode, new_mode, *_, status = meta.lstrip(":").split()
                if _GITLINK not in (old_mode, new_mode):
                    out.append((status[0], path))
        return out

    def differing(self, tree: str, other: str, paths: list[str]) -> list[str]:
        """Those of `paths` whose content or mode differs between two trees."""
        changed: list[str] = []
        for chunk in _chunks(paths):
            out = self.git("diff-tree", "-r", "-z", "--name-only", tree, other, "--", *literal(chunk))
            changed += filter(None, out.split("\0"))
        return changed

    def remove(self, paths: list[str]) -> list[str]:
        removed = []
        for rel in paths:
            full = self.work_tree / rel
            if full.is_symlink() or full.is_file():
                full.unlink()
                removed.append(rel)
                _prune_empty_dirs(full.parent, self.work_tree)
        return removed

    def restore(self, tree: str, paths: list[str]) -> list[str]:
        """Write `paths` as they are in `tree` (content, mode, symlinks) through a throwaway index."""
        if not paths:
            return []
        env = {"GIT_INDEX_FILE": str(self.state / "undo-index")}
        try:
            self.git("read-tree", tree, env=env)
            for chunk in _chunks(paths):
                self.git("checkout-index", "--force", "--", *chunk, env=env)
        finally:
            (self.state / "undo-index").unlink(missing_ok=True)
        return paths

    def leftover_temporaries(self, paths: list[str]) -> list[str]:
        """Half-written temporary siblings (`.NAME.XXXX.rudder-tmp`) of `paths`, left by a killed write."""
        found = []
        for rel in paths:
            full = self.work_tree / rel
            if full.parent.is_dir():
                found += [
                    (Path(rel).parent / item.name).as_posix()
                    for item in full.parent.glob(f".{full.name}.*{TEMP_SUFFIX}")
                ]
        return found

    def stale_locks(self) -> list[Path]:
        """Git lock files under Rudder's own index files and refs (valid only while their owner runs)."""
        found = [path for path in self.state.glob("*.lock") if path.name != "run.lock"]
        refs = self.common_dir / "refs" / "rudder"
        return found + (list(refs.rglob("*.lock")) if refs.is_dir() else [])


def literal(paths: list[str]) -> list[str]:
    return [f":(literal){path}" for path in paths]


def _is_directory(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _under(scope: str, name: str) -> str:
    return name if scope == "." else f"{scope}/{name}"


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def _prune_empty_dirs(directory: Path, stop: Path) -> None:
    while directory != stop and stop in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return  # not empty (or already gone): leave it
        directory = directory.parent
