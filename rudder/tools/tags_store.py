"""Tags kept between runs, keyed by git's blob id: a file's content parses once per machine, not per run.

One SQLite file in the user cache (`tags.sqlite`; safe for concurrent runs, SQLite locks it). Each row
holds what ranking needs as plain text (the names a file defines and the names it calls, one per line:
cheap to load for 100,000 files) and the definitions for rendering (JSON, loaded only for the files the
map shows). A content's tags depend only on its bytes and its language, so the key is (parser version,
suffix, blob id); work-tree edits that are not staged are parsed from the file instead.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rudder.tools.tags import Tag
from rudder.util.dirs import user_cache_dir

log = logging.getLogger(__name__)

VERSION = 1  # bump when the queries in tags.py change what a parse yields
_CHUNK = 500  # keys per SELECT (SQLite's variable limit)


@dataclass(frozen=True)
class Names:
    """What ranking needs of one file: the names it defines and the names it calls (with repeats)."""

    defs: tuple[str, ...]
    refs: tuple[str, ...]


def names_of(tags: Sequence[Tag]) -> Names:
    return Names(tuple(t.name for t in tags if t.role == "def"), tuple(t.name for t in tags if t.role == "ref"))


def key(suffix: str, blob: str) -> str:
    return f"{VERSION}:{suffix}:{blob}"


class TagStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or user_cache_dir() / "tags.sqlite"
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=10)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("CREATE TABLE IF NOT EXISTS tags (key TEXT PRIMARY KEY, defs TEXT, refs TEXT, tags TEXT)")
                self._db = db
            except sqlite3.Error as exc:
                log.debug("tag store %s unusable (%s): parsing without it", self.path, exc)
                return None
        return self._db

    def names(self, keys: Iterable[str]) -> dict[str, Names]:
        db = self._connect()
        out: dict[str, Names] = {}
        if db is None:
            return out
        for chunk in _chunks(list(keys)):
            marks = ",".join("?" * len(chunk))
            try:
                rows = db.execute(f"SELECT key, defs, refs FROM tags WHERE key IN ({marks})", chunk).fetchall()
            except sqlite3.Error as exc:
                log.debug("tag store read failed (%s)", exc)
                return out
            for k, defs, refs in rows:
                out[k] = Names(tuple(defs.split("\n")) if defs else (), tuple(refs.split("\n")) if refs else ())
        return out

    def definitions(self, k: str, path: str) -> list[Tag]:
        db = self._connect()
        if db is None:
            return []
        try:
            row = db.execute("SELECT tags FROM tags WHERE key = ?", (k,)).fetchone()
        except sqlite3.Error:
            return []
        if row is None:
            return []
        return [Tag(path, line, end, name, kind, "def", sig) for line, end, name, kind, sig in json.loads(row[0])]

    def put(self, items: Iterable[tuple[str, Sequence[Tag]]]) -> None:
        db = self._connect()
        if db is None:
            return
        rows = []
        for k, tags in items:
            names = names_of(tags)
            defs = [[t.line, t.end_line, t.name, t.kind, t.signature] for t in tags if t.role == "def"]
            rows.append((k, "\n".join(names.defs), "\n".join(names.refs), json.dumps(defs)))
        with contextlib.suppress(sqlite3.Error), db:
            db.executemany("INSERT OR REPLACE INTO tags VALUES (?, ?, ?, ?)", rows)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
