"""Checkpoints: every agent step that may change files can be undone, without touching the user's git state.

Write-ahead: `begin` snapshots the workspace (snapshots.py) and records an intent line in
.git/rudder/checkpoints.jsonl, with the "before" commit under a private ref (refs/rudder/checkpoints/<id>,
so git gc keeps it), *before* the tool runs. `end` snapshots again and records what changed. A run killed
in between leaves an unfinished checkpoint that `undo` can still take back (to its "before" state).

Exact where it can be: a step that names the files it writes (write_file, edit_file) gets a checkpoint of
exactly those paths, so what anyone else changed meanwhile is never part of it. A shell step can change
anything: its checkpoint is everything that changed while it ran, marked as not attributable, and undo
shows that list and asks (or needs `force`) because someone else may have made some of those changes.
Before a shell step, small ignored files (`.env`) are kept too, so a `git clean -fdx` can be undone.

All recording and undoing happens under the repository's run lock (runlock.py), which the agent holds for a
whole turn: one Rudder process at a time, so git lock files left under .git/rudder by a crash are stale and
are removed with a notice. Checkpoint errors are CheckpointError, never ToolError: they are Rudder's
failures to report to the user, not tool output for the model.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from rudder.tools.base import ToolError
from rudder.tools.gitrepo import open_repo
from rudder.tools.runlock import Notice, RunLock, warn
from rudder.tools.snapshots import EXCLUDED, GitTrees


class CheckpointError(RuntimeError):
    """A checkpoint cannot be recorded or undone; the message says why and what to do."""


class NeedsConfirmation(CheckpointError):
    """The checkpoint may hold changes that are not the agent's: the user must see the list and agree."""

    def __init__(self, message: str, checkpoint: Checkpoint, changes: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.checkpoint, self.changes = checkpoint, changes


@dataclass(frozen=True)
class Checkpoint:
    id: str
    label: str
    before: str  # tree of the workspace before the step
    created: float
    paths: list[str] | None = None  # the only paths the step could change; None: anything (a shell step)
    ignored: list[str] = field(default_factory=list)  # ignored files kept in `before` (a shell step's)
    after: str | None = None  # tree after the step; None while unfinished
    commit: str | None = None
    ref: str | None = None
    changes: list[tuple[str, str]] = field(default_factory=list)  # (A|M|D|T, path from the work tree top)
    finished: bool = True  # False: the process stopped (crashed, was killed) while the step ran
    undone_paths: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return self.paths is not None

    @property
    def files(self) -> list[str]:
        return [path for _, path in self.changes]

    @property
    def undone(self) -> bool:
        return bool(self.undone_paths) and set(self.files) <= set(self.undone_paths)

    def remaining(self) -> list[tuple[str, str]]:
        return [(status, path) for status, path in self.changes if path not in self.undone_paths]

    def describe(self) -> str:
        """One line for a listing: id, time, label, the files it changed, whether it was undone."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created))
        if not self.finished:
            files = "unfinished: the run stopped during this step; undo restores the state before it"
        else:
            shown = ", ".join(f"{status} {path}" for status, path in self.changes[:5])
            more = f", ... ({len(self.changes) - 5} more)" if len(self.changes) > 5 else ""
            files = f"{shown}{more}" if self.changes else "no file changes"
        note = "" if self.exact or not self.changes else "  (shell: may include changes not made by the agent)"
        done = "  (undone)" if self.undone else "  (partly undone)" if self.undone_paths else ""
        return f"{self.id}  {stamp}  {self.label}  [{files}]{note}{done}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("undone_paths", "finished"):
            data.pop(name)
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
        head = f"undid checkpoint {self.checkpoint.id} ({self.checkpoint.label})"
        if not self.restored and not self.removed:
            return f"{head}: it changed no files"
        parts = [head]
        if self.restored:
            parts.append("restored: " + ", ".join(self.restored))
        if self.removed:
            parts.append("removed: " + ", ".join(self.removed))
        return "; ".join(parts)


class Checkpoints:
    """Undo for agent steps, kept in private git objects and refs of the repository containing `root`."""

    def __init__(self, root: str | os.PathLike[str], notice: Notice = warn) -> None:
        try:
            repo = open_repo(root)
        except ToolError as exc:
            raise CheckpointError(f"checkpoints need a git repository: {exc}") from exc
        self.work_tree = repo.work_tree
        # only the workspace is snapshotted: a workspace inside a huge repository (or a home directory
        # under version control) must not cost a scan of everything around it
        self.scope = Path(root).resolve().relative_to(self.work_tree).as_posix()
        git_dir = repo.git_dir
        self.trees = GitTrees(self.work_tree, git_dir, self.scope, repo.common_dir)
        self.state = self.trees.state
        self.log = self.state / "checkpoints.jsonl"
        linked = git_dir != repo.common_dir  # refs are shared by all worktrees
        self.ref_prefix = f"refs/rudder/worktrees/{git_dir.name}/" if linked else "refs/rudder/checkpoints/"
        self.notice = notice
        self.lock = RunLock(self.state, notice)
        self.lock.on_acquire.append(self._after_crash)

    # -- recording --------------------------------------------------------------------------------------

    def begin(self, label: str, paths: list[str] | None = None, *, keep_ignored: bool = False) -> Checkpoint:
        """Snapshot before a step and record the intent, before the tool touches anything.

        `paths`: the files the step will write (relative to the workspace), when it names them; None for
        a step that may change anything. `keep_ignored`: also keep small ignored files (shell steps)."""
        with self._locked():
            top = None if paths is None else [self._from_top(path) for path in paths]
            ignored = self.trees.small_ignored_files() if keep_ignored else []
            before = self.trees.snapshot(top, ignored)
            cid = str(max((int(e["id"]) for e in self._entries() if str(e.get("id", "")).isdigit()), default=0) + 1)
            commit = self.trees.git("commit-tree", "--no-gpg-sign", before, "-m", f"before: {label}")
            ref = f"{self.ref_prefix}{cid}"
            self.trees.git("update-ref", ref, commit)
            begun = Checkpoint(cid, label, before, time.time(), top, ignored, commit=commit, ref=ref, finished=False)
            self._append({**begun.to_json(), "event": "begin", "pid": os.getpid()})
            return begun

    def end(self, checkpoint: Checkpoint) -> Checkpoint:
        """Snapshot after the step and record what it changed; returns the recorded checkpoint."""
        with self._locked():
            after = self.trees.snapshot(checkpoint.paths, checkpoint.ignored)
            changes = self.trees.changes(checkpoint.before, after, checkpoint.paths)
            assert checkpoint.commit is not None and checkpoint.ref is not None
            parent = checkpoint.commit
            commit = self.trees.git("commit-tree", "--no-gpg-sign", after, "-p", parent, "-m", checkpoint.label)
            self.trees.git("update-ref", checkpoint.ref, commit)
            recorded = replace(checkpoint, after=after, commit=commit, changes=changes, finished=True)
            self._append(recorded.to_json())
            return recorded

    def _from_top(self, path: str) -> str:
        return path if self.scope == "." else f"{self.scope}/{path}"

    # -- reading ----------------------------------------------------------------------------------------

    def list(self) -> list[Checkpoint]:
        """Recorded checkpoints, oldest first; unfinished ones (a crash mid-step) have finished=False."""
        found: dict[str, Checkpoint] = {}
        for entry in self._entries():
            cid, event = str(entry.get("id")), entry.get("event")
            if event == "begin":
                found[cid] = replace(Checkpoint.from_json(entry), finished=False)
            elif event == "checkpoint":
                found[cid] = Checkpoint.from_json(entry)
            elif event == "undo" and cid in found:
                known = found[cid]
                undone = entry.get("paths") or known.files or ["*"]  # older logs name no paths
                found[cid] = replace(known, undone_paths=sorted({*known.undone_paths, *undone}))
        return list(found.values())

    def get(self, checkpoint_id: str) -> Checkpoint:
        for checkpoint in self.list():
            if checkpoint.id == str(checkpoint_id):
                return checkpoint
        raise CheckpointError(f"no checkpoint with id {checkpoint_id!r} (see the list of checkpoints)")

    # -- undo -------------------------------------------------------------------------------------------

    def undo(
        self,
        checkpoint_id: str | None = None,
        *,
        force: bool = False,
        confirmed: bool = False,
        paths: list[str] | None = None,
    ) -> UndoResult:
        """Revert one step's own file changes: the latest step that changed files, unless an id is given.

        A shell step's changes may include someone else's: unless `confirmed` (or `force`, or the files are
        named in `paths`), NeedsConfirmation carries the list. A file changed again after the step is not
        overwritten unless `force`. `paths` undoes only those of the step's files (from the work tree top)."""
        with self._locked():
            checkpoint = self._settled(self._pick(checkpoint_id))
            todo = checkpoint.remaining()
            if paths is not None:
                unknown = sorted(set(paths) - {path for _, path in todo})
                if unknown:
                    raise CheckpointError(
                        f"checkpoint {checkpoint.id} did not change {', '.join(unknown)} (or it was undone already); "
                        f"its files: {', '.join(path for _, path in todo) or 'none'}"
                    )
                todo = [(status, path) for status, path in todo if path in paths]
            if checkpoint.undone_paths and not todo:
                raise CheckpointError(f"checkpoint {checkpoint.id} ({checkpoint.label}) was already undone")
            if todo and not checkpoint.exact and not (confirmed or force or paths is not None):  # named: chosen
                listing = "\n".join(f"  {status} {path}" for status, path in todo)
                raise NeedsConfirmation(
                    f"checkpoint {checkpoint.id} ({checkpoint.label}) ran a command while others could change "
                    f"files too; it would undo all of these:\n{listing}",
                    checkpoint,
                    todo,
                )
            if todo and not force and checkpoint.after is not None:
                files = [path for _, path in todo]
                changed = self.trees.differing(checkpoint.after, self.trees.snapshot(files, checkpoint.ignored), files)
                if changed:
                    raise CheckpointError(
                        f"cannot undo checkpoint {checkpoint.id} ({checkpoint.label}): these files changed after "
                        f"it: {', '.join(changed)}. Undo the later steps first, or force to overwrite them."
                    )
            removed = self.trees.remove([path for status, path in todo if status == "A"])
            restored = self.trees.restore(checkpoint.before, [path for status, path in todo if status != "A"])
            if not checkpoint.finished and checkpoint.exact:
                self.trees.remove(self.trees.leftover_temporaries(checkpoint.paths or []))
            undone = [path for _, path in todo] or ["*"]  # "*": a step that changed nothing, undone
            self._append({"event": "undo", "id": checkpoint.id, "time": time.time(), "force": force, "paths": undone})
            return UndoResult(replace(checkpoint, undone_paths=undone), restored, removed)

    def _pick(self, checkpoint_id: str | None) -> Checkpoint:
        if checkpoint_id is not None:
            return self.get(checkpoint_id)
        for checkpoint in reversed(self.list()):
            unfinished = not checkpoint.finished and not checkpoint.undone_paths
            if unfinished or checkpoint.remaining():
                return checkpoint
        raise CheckpointError("nothing to undo: no recorded step changed files that are not undone yet")

    def _settled(self, checkpoint: Checkpoint) -> Checkpoint:
        """An unfinished checkpoint's changes are what differs now from its "before" state."""
        if checkpoint.finished:
            return checkpoint
        now = self.trees.snapshot(checkpoint.paths, checkpoint.ignored)
        return replace(checkpoint, changes=self.trees.changes(checkpoint.before, now, checkpoint.paths))

    # -- the log and the lock ---------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Under the run lock; a git failure here is Rudder's (a CheckpointError), not a tool's."""
        try:
            with self.lock.hold("rudder checkpoints"):
                yield
        except ToolError as exc:
            raise CheckpointError(f"checkpoint failed: {exc}") from exc

    def _after_crash(self) -> None:
        """With the run lock newly taken, git lock files under Rudder's state belong to a process now gone."""
        for stale in self.trees.stale_locks():
            stale.unlink(missing_ok=True)
            self.notice(f"removed a stale git lock left by a stopped Rudder run: {stale}")
        last = self.list()[-1:] if self.lock.recovered else []
        if last and not last[0].finished and not last[0].undone_paths:
            self.notice(
                f"the stopped run did not finish {last[0].label} (checkpoint {last[0].id}); "
                f"`rudder undo {last[0].id}` restores the files as they were before it"
            )

    def _entries(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        entries = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash; the others still count
            if isinstance(entry, dict):
                entries.append(entry)
        return entries

    def _append(self, entry: dict[str, Any]) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry) + "\n"
        with self.log.open("a+b") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell():
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    line = "\n" + line  # a crash cut the last line short: never glue this one to it
            handle.write(line.encode("utf-8"))


__all__ = ["EXCLUDED", "Checkpoint", "CheckpointError", "Checkpoints", "NeedsConfirmation", "UndoResult"]
