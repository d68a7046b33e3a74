"""Checkpoints: every agent step that may change files can be undone, without touching the user's git state.

A snapshot is the work tree (tracked files plus untracked files git does not ignore) written as a git tree
object through a private index file (GIT_INDEX_FILE=.git/rudder/index), never the user's index. `begin`
snapshots before a step, `end` after it; the pair is kept as a two-commit chain under a private ref
(refs/rudder/checkpoints/<id>) so git gc keeps the objects, and in .git/rudder/checkpoints.jsonl.

`undo` puts back exactly the files the step changed, and only if each of them is still as the step left
it. HEAD, branches, the user's index and files the step did not touch are never modified.

Covered: the workspace directory (the whole work tree when the workspace is its top). Not covered: ignored
files, the workspace's .rudder/ directory, and untracked files larger than MAX_SNAPSHOT_FILE.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from rudder.tools.base import ToolError
from rudder.tools.gitrepo import open_repo, run_git
from rudder.util.dirs import REPO_DIR

MAX_SNAPSHOT_FILE = 50 * 1024 * 1024  # untracked files above this size are left out of snapshots
EXCLUDED = (REPO_DIR,)  # Rudder's own state (trajectories) is not part of a step's changes
_GITLINK = "160000"  # submodules and nested repositories: recorded by commit, never restored
_IDENTITY = {
    "GIT_AUTHOR_NAME": "rudder",
    "GIT_AUTHOR_EMAIL": "rudder@localhost",
    "GIT_COMMITTER_NAME": "rudder",
    "GIT_COMMITTER_EMAIL": "rudder@localhost",
}
_CHUNK = 500  # paths per git command line


class CheckpointError(ToolError):
    """A checkpoint cannot be recorded or undone; the message says why and what to do."""


@dataclass(frozen=True)
class Checkpoint:
    id: str  # "" until end() records it
    label: str
    before: str  # tree of the work tree before the step
    created: float
    after: str | None = None  # tree after the step
    commit: str | None = None  # the "after" commit kept under `ref`
    ref: str | None = None
    changes: list[tuple[str, str]] = field(default_factory=list)  # (A|M|D|T, path from the work tree top)
    undone: bool = False

    @property
    def files(self) -> list[str]:
        return [path for _, path in self.changes]

    def describe(self) -> str:
        """One line for a listing: id, time, label, the files it changed, whether it was undone."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created))
        shown = ", ".join(f"{status} {path}" for status, path in self.changes[:5])
        more = f", ... ({len(self.changes) - 5} more)" if len(self.changes) > 5 else ""
        files = f"{shown}{more}" if self.changes else "no file changes"
        return f"{self.id or '-'}  {stamp}  {self.label}  [{files}]" + ("  (undone)" if self.undone else "")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("undone")
        return {"event": "checkpoint", **data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["changes"] = [(status, path) for status, path in fields.get("changes", [])]
        return cls(**fields)


@dataclass(frozen=True)
class UndoResult:
    checkpoint: Checkpoint
    restored: list[str]  # written back to their content before the step
    removed: list[str]  # created by the step, now deleted

    def __str__(self) -> str:
        return self.summary()

    def summary(self) -> str:
        if not self.restored and not self.removed:
            return f"undid checkpoint {self.checkpoint.id} ({self.checkpoint.label}): it changed no files"
        parts = [f"undid checkpoint {self.checkpoint.id} ({self.checkpoint.label})"]
        if self.restored:
            parts.append("restored: " + ", ".join(self.restored))
        if self.removed:
            parts.append("removed: " + ", ".join(self.removed))
        return "; ".join(parts)


class Checkpoints:
    """Undo for agent steps, kept in private git objects and refs of the repository containing `root`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        try:
            repo = open_repo(root)
        except ToolError as exc:
            raise CheckpointError(f"checkpoints need a git repository: {exc}") from exc
        self.work_tree = repo.work_tree
        # only the workspace is snapshotted: a workspace inside a huge repository (or a home directory
        # under version control) must not cost a scan of everything around it
        self.scope = Path(root).resolve().relative_to(self.work_tree).as_posix()
        self.git_dir = repo.git_dir
        self.state = self.git_dir / "rudder"
        self.index = self.state / "index"
        self.log = self.state / "checkpoints.jsonl"
        linked = self.git_dir != repo.common_dir  # refs are shared by all worktrees
        self.ref_prefix = f"refs/rudder/worktrees/{self.git_dir.name}/" if linked else "refs/rudder/checkpoints/"

    # -- recording --------------------------------------------------------------------------------------

    def begin(self, label: str) -> Checkpoint:
        """Snapshot the work tree before a step."""
        return Checkpoint(id="", label=label, before=self.snapshot(), created=time.time())

    def end(self, checkpoint: Checkpoint) -> Checkpoint:
        """Snapshot after the step and record the pair; returns the recorded checkpoint (with its id)."""
        after = self.snapshot()
        changes = self._changes(checkpoint.before, after)
        cid = str(sum(1 for entry in self._entries() if entry.get("event") == "checkpoint") + 1)
        parent = self._git("commit-tree", "--no-gpg-sign", checkpoint.before, "-m", f"before: {checkpoint.label}")
        commit = self._git("commit-tree", "--no-gpg-sign", after, "-p", parent, "-m", checkpoint.label)
        ref = f"{self.ref_prefix}{cid}"
        self._git("update-ref", ref, commit)
        recorded = replace(checkpoint, id=cid, after=after, commit=commit, ref=ref, changes=changes)
        self._append(recorded.to_json())
        return recorded

    def snapshot(self) -> str:
        """The work tree as a git tree object (tracked + untracked files not ignored), via the private index."""
        self.state.mkdir(parents=True, exist_ok=True)
        if not self.index.exists() and (self.git_dir / "index").exists():
            shutil.copyfile(self.git_dir / "index", self.index)  # its stat cache spares rehashing every file
        scope = f":(literal){self.scope}"
        excludes = [f":(exclude,literal){_under(self.scope, name)}" for name in EXCLUDED]
        excludes += [f":(exclude,literal){path}" for path in self._large_untracked(scope, excludes)]
        self._git("add", "--all", "--", scope, *excludes, env=self._index_env())
        return self._git("write-tree", env=self._index_env())

    def _large_untracked(self, scope: str, excludes: list[str]) -> list[str]:
        listed = self._git("ls-files", "--others", "--exclude-standard", "-z", "--", scope, *excludes,
                           env=self._index_env())  # fmt: skip
        large = []
        for rel in filter(None, listed.split("\0")):
            try:
                info = (self.work_tree / rel).lstat()
            except OSError:
                continue
            if info.st_size > MAX_SNAPSHOT_FILE and not os.path.islink(self.work_tree / rel):
                large.append(rel)
        return large

    def _changes(self, before: str, after: str) -> list[tuple[str, str]]:
        raw = self._git("diff-tree", "-r", "-z", "--no-renames", before, after)
        items = raw.split("\0")
        out = []
        for meta, path in zip(items[::2], items[1::2], strict=False):
            old_mode, new_mode, *_, status = meta.lstrip(":").split()
            if _GITLINK not in (old_mode, new_mode):
                out.append((status[0], path))
        return out

    # -- reading ----------------------------------------------------------------------------------------

    def list(self) -> list[Checkpoint]:
        """Recorded checkpoints, oldest first, with `undone` set for the ones undone since."""
        found: dict[str, Checkpoint] = {}
        for entry in self._entries():
            if entry.get("event") == "checkpoint":
                found[str(entry["id"])] = Checkpoint.from_json(entry)
            elif entry.get("event") == "undo" and str(entry.get("id")) in found:
                found[str(entry["id"])] = replace(found[str(entry["id"])], undone=True)
        return list(found.values())

    def get(self, checkpoint_id: str) -> Checkpoint:
        for checkpoint in self.list():
            if checkpoint.id == str(checkpoint_id):
                return checkpoint
        raise CheckpointError(f"no checkpoint with id {checkpoint_id!r} (see the list of checkpoints)")

    # -- undo -------------------------------------------------------------------------------------------

    def undo(self, checkpoint_id: str | None = None, force: bool = False) -> UndoResult:
        """Revert one step's own file changes: the latest step that changed files, unless an id is given."""
        checkpoint = self._pick(checkpoint_id)
        if checkpoint.undone:
            raise CheckpointError(f"checkpoint {checkpoint.id} ({checkpoint.label}) was already undone")
        if checkpoint.files and not force:
            changed = self._changed_since(checkpoint)
            if changed:
                raise CheckpointError(
                    f"cannot undo checkpoint {checkpoint.id} ({checkpoint.label}): these files changed after it: "
                    f"{', '.join(changed)}. Undo the later steps first, or force to overwrite them."
                )
        removed = self._remove([path for status, path in checkpoint.changes if status == "A"])
        restored = self._restore(checkpoint.before, [path for status, path in checkpoint.changes if status != "A"])
        self._append({"event": "undo", "id": checkpoint.id, "time": time.time(), "force": force})
        return UndoResult(replace(checkpoint, undone=True), restored=restored, removed=removed)

    def _pick(self, checkpoint_id: str | None) -> Checkpoint:
        if checkpoint_id is not None:
            return self.get(checkpoint_id)
        for checkpoint in reversed(self.list()):
            if not checkpoint.undone and checkpoint.changes:
                return checkpoint
        raise CheckpointError("nothing to undo: no recorded step changed files that are not undone yet")

    def _changed_since(self, checkpoint: Checkpoint) -> list[str]:
        """The step's files whose current content or mode differs from what the step left."""
        assert checkpoint.after is not None
        current = self.snapshot()
        changed: list[str] = []
        for chunk in _chunks(checkpoint.files):
            out = self._git("diff-tree", "-r", "-z", "--name-only", checkpoint.after, current, "--", *chunk,
                            env={"GIT_LITERAL_PATHSPECS": "1"})  # fmt: skip
            changed += filter(None, out.split("\0"))
        return changed

    def _remove(self, paths: list[str]) -> list[str]:
        removed = []
        for rel in paths:
            full = self.work_tree / rel
            if full.is_symlink() or full.is_file():
                full.unlink()
                removed.append(rel)
                _prune_empty_dirs(full.parent, self.work_tree)
        return removed

    def _restore(self, tree: str, paths: list[str]) -> list[str]:
        """Write `paths` as they are in `tree` (content, mode, symlinks) through a throwaway index."""
        if not paths:
            return []
        env = {"GIT_INDEX_FILE": str(self.state / "undo-index")}
        try:
            self._git("read-tree", tree, env=env)
            for chunk in _chunks(paths):
                self._git("checkout-index", "--force", "--", *chunk, env=env)
        finally:
            (self.state / "undo-index").unlink(missing_ok=True)
        return paths

    # -- plumbing ---------------------------------------------------------------------------------------

    def _git(self, *args: str, env: dict[str, str] | None = None) -> str:
        return run_git(self.work_tree, *args, env={**_IDENTITY, **(env or {})})

    def _index_env(self) -> dict[str, str]:
        return {"GIT_INDEX_FILE": str(self.index)}

    def _entries(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        entries = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by a crash; the others still count
        return entries

    def _append(self, entry: dict[str, Any]) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")


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
