"""Project instructions: AGENTS.md files (the convention opencode, Codex, Goose and Zed share) in the system
prompt, within a token budget.

Which files, in the order the model reads them:
    user     <user config dir>/AGENTS.md     your own words for every repository
    root     <repo>/AGENTS.md
    nested   <repo>/DIR/AGENTS.md            applies to files under DIR/ (said so in the prompt)
A directory without an AGENTS.md may have a CLAUDE.md instead, read the same way (opencode does so too);
`.goosehints` and other tools' files are not read. Files are found with git (tracked, or untracked and not
ignored), so an ignored or vendored tree adds nothing; a file whose real path leaves the repository (a
symlink to ~/.ssh/...) is skipped.

Rudder works on the whole repository, not in one directory, so it cannot take "the files from the root
down to the current directory" as Codex does. Every nested file goes in, each with its scope, while the
budget lasts; when it does not last, the user's file and the root file come first, then the nested files
on the path of a file or directory the task names, then the shallower ones. What did not fit is cut
(a file cut in the middle says so in the prompt) and listed in the run manifest. The kept files are
printed in a fixed order, whatever the task: the system prompt, and with it the persistent prompt cache,
stays the same from run to run until an instruction file changes.

The instructions are the repository's words, not the user's: they are text for the model and change
no setting (approval, sandbox and network come from the user's config, see docs/security.md).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from rudder.tools.base import ToolError
from rudder.tools.safegit import run_git
from rudder.util.dirs import user_config_dir

NAMES = ("AGENTS.md", "CLAUDE.md")  # per directory, the first that exists
MAX_FILE_BYTES = 64 << 10  # read no more of one file than this (a budget of tokens cuts far sooner)
MIN_KEPT_TOKENS = 24  # a file that would keep fewer tokens than this is cut whole
HEADER = "Project instructions (from the repository; they cannot change your tools or permissions):"
_PATH_WORD = re.compile(r"[\w.-]+(?:/[\w.-]+)*/|[\w.-]+(?:/[\w.-]+)+|[\w-]+\.[A-Za-z0-9]{1,8}\b")

Status = Literal["included", "truncated", "cut"]


class InstructionFile(BaseModel):
    """One instruction file as the run used it (the run manifest lists these)."""

    path: str  # relative to the repository; "~/AGENTS.md" style for the user's own (the full path in `source`)
    source: str
    scope: str  # "user", "repository", or the directory it applies to ("src/api/")
    sha256: str
    tokens: int  # the whole file
    kept: int  # tokens of it in the prompt (0: cut)
    status: Status


@dataclass
class Instructions:
    files: list[InstructionFile] = field(default_factory=list)
    text: str = ""  # the block for the system prompt ("" when there is none)
    budget: int = 0

    def summary(self) -> str:
        return describe_files(self.manifest())

    def manifest(self) -> list[dict[str, Any]]:
        return [f.model_dump(mode="json") for f in self.files]


def describe_files(files: list[dict[str, Any]]) -> str:
    """`AGENTS.md (120 tokens), src/AGENTS.md (truncated: 80 of 200 tokens), docs/AGENTS.md (cut: over the
    budget)` from the manifest's list; "none" when no file was read."""
    parts = []
    for f in files:
        if f.get("status") == "included":
            parts.append(f"{f['path']} ({f['tokens']} tokens)")
        elif f.get("status") == "truncated":
            parts.append(f"{f['path']} (truncated: {f['kept']} of {f['tokens']} tokens)")
        else:
            parts.append(f"{f.get('path')} (cut: over the budget)")
    return ", ".join(parts) or "none"


@dataclass
class _Found:
    path: str
    source: Path
    scope: str
    text: str
    priority: tuple[int, int, str]


def _git_listed(root: Path) -> list[str]:
    """Instruction files git knows in the work tree (tracked, or untracked and not ignored)."""
    specs = [f":(glob)**/{name}" for name in NAMES]
    try:
        out = run_git(root, "-c", "core.quotepath=off", "ls-files", "-z", "--cached", "--others",
                      "--exclude-standard", "--", *specs)  # fmt: skip
    except ToolError:
        return [name for name in NAMES if (root / name).is_file()]
    return sorted({p for p in out.split("\0") if p and Path(p).name in NAMES})


def _read(path: Path, root: Path | None) -> str | None:
    """The file's text, or None: missing, unreadable, binary, or (for a repo file) really outside the repo."""
    try:
        real = path.resolve()
        if root is not None and not real.is_relative_to(root.resolve()):
            return None
        with real.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES)
        return data.decode("utf-8", errors="replace").strip()
    except OSError:
        return None


def named_dirs(task: str) -> set[str]:
    """Directories on the path of every file or directory the task names ("src/api/x.py" -> src/, src/api/)."""
    dirs: set[str] = set()
    for word in _PATH_WORD.findall(task):
        parts = word.strip("./").split("/")
        whole = word.endswith("/") or "." not in parts[-1]  # a directory named by itself
        for end in range(1, len(parts) + (1 if whole else 0)):
            dirs.add("/".join(parts[:end]) + "/")
    return dirs


def find_instructions(root: Path, task: str = "") -> list[_Found]:
    """Every instruction file that applies, one per directory, with its priority for the budget."""
    found: list[_Found] = []
    user = user_config_dir() / "AGENTS.md"
    if (text := _read(user, None)) is not None and text:
        found.append(_Found("~/AGENTS.md", user, "user", text, (0, 0, "")))
    chosen: dict[str, str] = {}  # directory -> the file name read there (AGENTS.md before CLAUDE.md)
    for rel in _git_listed(root):
        directory = str(Path(rel).parent)
        if directory not in chosen or NAMES.index(Path(rel).name) < NAMES.index(chosen[directory]):
            chosen[directory] = Path(rel).name
    named = named_dirs(task)
    for directory, name in chosen.items():
        rel = name if directory == "." else f"{directory}/{name}"
        text = _read(root / rel, root)
        if not text:
            continue
        if directory == ".":
            found.append(_Found(rel, root / rel, "repository", text, (1, 0, rel)))
        else:
            scope = f"{directory}/"
            depth = scope.count("/")
            found.append(_Found(rel, root / rel, scope, text, (2 if scope in named else 3, depth, rel)))
    return found


def _truncate(text: str, room: int, count: Callable[[str], int]) -> str:
    """The longest run of whole lines from the start that fits `room` tokens (a line cut only if it is alone)."""
    lines = text.splitlines()
    low, high = 0, len(lines)
    while low < high:  # the most lines that fit
        mid = (low + high + 1) // 2
        if count("\n".join(lines[:mid])) <= room:
            low = mid
        else:
            high = mid - 1
    if low:
        return "\n".join(lines[:low])
    return text[: room * 2]  # one very long first line: about two characters a token, re-counted by the caller


def _block(f: _Found, text: str, cut: bool) -> str:
    where = {"user": "your own instructions", "repository": "whole repository"}.get(f.scope, f"files under {f.scope}")
    tail = "\n[... the rest of this file did not fit and was cut]" if cut else ""
    return f"# {f.path} (applies to: {where})\n{text}{tail}"


def load_instructions(root: Path, task: str, budget: int, count: Callable[[str], int]) -> Instructions:
    """The instruction block for the system prompt, at most `budget` tokens (0: none read)."""
    result = Instructions(budget=budget)
    if budget <= 0:
        return result
    found = find_instructions(root, task)
    used = count(HEADER)
    kept: dict[str, str] = {}
    for f in sorted(found, key=lambda f: f.priority):
        whole = count(f.text)
        digest = hashlib.sha256(f.text.encode()).hexdigest()
        block = _block(f, f.text, cut=False)
        cost = count(block) + 1
        status: Status = "included"
        kept_tokens = whole
        if used + cost > budget:
            room = budget - used - (cost - whole) - 16  # the heading and the cut note
            text = _truncate(f.text, room, count) if room >= MIN_KEPT_TOKENS else ""
            if not text or count(text) > room:
                status, block, cost, kept_tokens = "cut", "", 0, 0
            else:
                status, block, kept_tokens = "truncated", _block(f, text, cut=True), count(text)
                cost = count(block) + 1
        used += cost
        if block:
            kept[f.path] = block
        result.files.append(
            InstructionFile(path=f.path, source=str(f.source), scope=f.scope, sha256=digest, tokens=whole,
                            kept=kept_tokens, status=status)
        )  # fmt: skip
    order = {f.path: (min(f.priority[0], 2), f.path) for f in found}  # user, root, nested by path: task-free
    result.files.sort(key=lambda f: order[f.path])
    if kept:
        result.text = "\n\n".join([HEADER, *(kept[p] for p in sorted(kept, key=lambda p: order[p]))])
    return result
