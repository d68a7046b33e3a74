"""`@file` mentions: the repo's files, fuzzy-matched as you type, attached to the message when sent."""

from __future__ import annotations

import re
from pathlib import Path

from textual.fuzzy import Matcher

from rudder.tools.base import ToolError
from rudder.tools.safegit import run_git

MENTION = re.compile(r"(?<!\S)@([\w./+-]+)")
ATTACH_CAP = 8000  # characters of one attached file


def repo_files(repo: Path, limit: int = 5000) -> list[str]:
    """Tracked and untracked-but-not-ignored files (what `git ls-files` shows), at most `limit`."""
    try:
        out = run_git(repo, "ls-files", "--cached", "--others", "--exclude-standard")
    except ToolError:
        return []
    return sorted(set(out.splitlines()))[:limit]


def fuzzy(query: str, files: list[str], limit: int = 5) -> list[str]:
    """Best matches first; among equals the shorter path."""
    if not query:
        return files[:limit]
    matcher = Matcher(query)
    scored = [(matcher.match(path), path) for path in files]
    ranked = sorted((item for item in scored if item[0] > 0), key=lambda item: (-item[0], len(item[1]), item[1]))
    return [path for _, path in ranked[:limit]]


def current_mention(text: str, cursor: int) -> tuple[int, str] | None:
    """(start offset of the '@', the query after it) if the cursor ends an @word."""
    start = text.rfind("@", 0, cursor)
    if start == -1 or (start > 0 and not text[start - 1].isspace()):
        return None
    query = text[start + 1 : cursor]
    if any(c.isspace() for c in query):
        return None
    return start, query


def attach(text: str, repo: Path) -> tuple[str, list[str]]:
    """The message with each mentioned file's contents appended, and the paths attached."""
    root = repo.resolve()
    attached: list[str] = []
    blocks = []
    for name in dict.fromkeys(MENTION.findall(text)):
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            continue
        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if len(content) > ATTACH_CAP:
            content = content[:ATTACH_CAP] + "\n… (cut)"
        attached.append(name)
        blocks.append(f"File {name}:\n```\n{content.rstrip(chr(10))}\n```")
    if not blocks:
        return text, []
    return text + "\n\n" + "\n\n".join(blocks), attached
