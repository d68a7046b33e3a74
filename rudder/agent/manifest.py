"""The run manifest: everything needed to say which run this was and to repeat it.

Written as the first record of every turn in a trajectory (and into A/B logs): Rudder's version, the
model file (path, size, content hash, layout identity), engine settings, sampling and seed, the mode
file and every vector file with their hashes, and the repository's git HEAD.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rudder import __version__
from rudder.agent.config import AgentConfig
from rudder.agent.interfaces import Engine, StepPolicy
from rudder.engine.generation import Sampling

FULL_HASH_LIMIT = 2 << 30  # bigger files (DeepSeek-V4 is ~150 GB) hash their size + first and last 16 MiB
_SAMPLE = 16 << 20
_hash_cache: dict[tuple[str, int, int], str] = {}


class FileRef(BaseModel):
    path: str
    sha256: str | None
    size: int | None = None


class RunManifest(BaseModel):
    rudder_version: str
    model: dict[str, Any]
    engine: dict[str, Any]
    sampling: dict[str, Any]
    seed: int
    agent: dict[str, Any]
    mode: str
    mode_file: FileRef | None
    vectors: dict[str, FileRef]
    repo: dict[str, Any]
    instructions: list[dict[str, Any]] = []  # the AGENTS.md files read, with what was kept (agent/instructions.py)


def file_sha256(path: Path) -> str | None:
    """Content hash (cached by path, size and mtime); for huge files a documented sample hash."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _hash_cache:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            if stat.st_size <= FULL_HASH_LIMIT:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
                _hash_cache[key] = digest.hexdigest()
            else:
                digest.update(str(stat.st_size).encode())
                digest.update(handle.read(_SAMPLE))
                handle.seek(-_SAMPLE, os.SEEK_END)
                digest.update(handle.read(_SAMPLE))
                _hash_cache[key] = "sampled:" + digest.hexdigest()
    return _hash_cache[key]


def _file_ref(path: Path | None) -> FileRef | None:
    if path is None:
        return None
    size = path.stat().st_size if path.exists() else None
    return FileRef(path=str(path), sha256=file_sha256(path), size=size)


def git_state(root: Path) -> dict[str, Any]:
    from rudder.tools.base import ToolError
    from rudder.tools.gitrepo import run_git

    state: dict[str, Any] = {"root": str(root), "head": None, "dirty": None}
    try:
        try:
            state["head"] = run_git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        except ToolError:
            state["head"] = None  # no commit yet
        state["dirty"] = bool(run_git(root, "status", "--porcelain", "--untracked-files=normal"))
    except Exception as exc:  # no git, an empty repo, a broken one: the manifest says so instead of failing
        state["error"] = f"{type(exc).__name__}: {exc}"
    return state


def build_manifest(
    engine: Engine,
    policy: StepPolicy,
    sampling: Sampling,
    config: AgentConfig,
    root: Path,
    instructions: list[dict[str, Any]] | None = None,
) -> RunManifest:
    info = engine.info
    mode_source = getattr(getattr(policy, "mode", None), "source", None)
    vector_sources: dict[str, Path] = getattr(policy, "vector_sources", {})
    return RunManifest(
        rudder_version=__version__,
        model={
            "path": str(info.path),
            "name": info.name,
            "architecture": info.architecture,
            "identity": info.identity.model_dump(mode="json"),
            **(_file_ref(info.path) or FileRef(path=str(info.path), sha256=None)).model_dump(exclude={"path"}),
        },
        engine=engine.settings(),
        sampling=sampling.model_dump(mode="json"),
        seed=sampling.seed,
        agent=config.model_dump(mode="json"),
        mode=policy.name,
        mode_file=_file_ref(mode_source),
        vectors={name: ref for name, path in vector_sources.items() if (ref := _file_ref(path))},
        repo=git_state(root),
        instructions=instructions or [],
    )


def run_record(
    engine: Engine, policy: StepPolicy, sampling: Sampling, config: AgentConfig, root: Path,
    instructions: list[dict[str, Any]], *, turn: int, task: str,
) -> dict[str, Any]:
    """The trajectory's "run" line at a turn's start: the task, mode, model, repo, config and manifest."""
    manifest = build_manifest(engine, policy, sampling, config, root, instructions).model_dump(mode="json")
    run = {"turn": turn, "task": task, "mode": policy.name, "model": engine.info.name, "repo": str(root)}
    return {**run, "config": config.model_dump(mode="json"), "manifest": manifest}
