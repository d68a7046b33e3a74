"""The persistent prompt cache: the KV state of a prompt's stable prefix, kept on disk between runs.

Every `rudder run` starts with the same system prompt, tool list and worked examples; reading them costs
seconds on a CPU. The engine saves the KV cache of that prefix (llama.cpp's per-sequence state) here and
the next run restores it instead of evaluating it again.

An entry is keyed by three things, all of which must match for a hit:
  context    the model file and how it is loaded (size, mtime, layout, batch sizes, KV types, llama.cpp
             build and CPU features): anything that changes the numbers a prefix evaluates to;
  steering   what the steering did to the rows while the prefix was computed (engine/hook.steering_digest
             plus the native control vector); a prefix computed under other steering never matches;
  tokens     the exact token prefix (an entry is also usable for a shorter common prefix, when the KV cache
             can drop a tail).
Files are `<context>-<steering>-<tokens>.kv`: a lookup lists only its own context and steering.

Disk: bounded by size, least recently used first out (a hit touches the file). Concurrent runs are safe:
an entry is written under a temporary name and renamed into place (atomic), a reader tolerates an entry
that vanishes, and a corrupt or truncated entry (checked by length and BLAKE2b digest) is ignored with a
debug log. Deleting the directory only costs the time to evaluate the prefixes again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import struct
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rudder.engine.batch import common_length

log = logging.getLogger(__name__)

MAGIC = b"RDRKV01\n"
_LENGTH = struct.Struct("<I")
MIN_TOKENS = 32  # a shorter common prefix is cheaper to evaluate than to restore
STALE_TEMP_SECONDS = 600  # a temporary file this old belongs to a writer that died


@dataclass(frozen=True)
class Entry:
    path: Path
    tokens: tuple[int, ...]
    blob_size: int
    blob_digest: str


def token_digest(tokens: Sequence[int]) -> str:
    return hashlib.blake2b(struct.pack(f"<{len(tokens)}i", *tokens), digest_size=12).hexdigest()


class PromptCache:
    """One directory of entries for one loaded model (`context` names how it is loaded)."""

    def __init__(self, directory: Path, context: str, limit_bytes: int) -> None:
        self.directory = directory
        self.context = context
        self.limit_bytes = limit_bytes

    def _name(self, steering: str, tokens: Sequence[int]) -> Path:
        return self.directory / f"{self.context}-{steering or 'none'}-{token_digest(tokens)}.kv"

    def entries(self, steering: str) -> list[Entry]:
        out = []
        for path in self.directory.glob(f"{self.context}-{steering or 'none'}-*.kv"):
            entry = read_header(path)
            if entry is not None:
                out.append(entry)
        return out

    def find(self, steering: str, tokens: Sequence[int], *, longer_than: int = 0) -> tuple[Entry, int] | None:
        """The entry sharing the longest prefix with `tokens` (and its length), if over `longer_than`.

        Of entries sharing as much, the shortest: it has the least tail to drop after loading, and a cache
        that cannot drop one (deepseek4) can only use an entry that ends where the agreement does (the
        agent's stable prefix shrinks to the system prompt when it drops the worked example; the longer
        entry with the example shares all of it)."""
        best: tuple[Entry, int] | None = None
        for entry in self.entries(steering):
            common = common_length(entry.tokens, tokens)
            if common < max(MIN_TOKENS, longer_than + 1):
                continue
            if best is None or (common, -len(entry.tokens)) > (best[1], -len(best[0].tokens)):
                best = (entry, common)
        return best

    def has(self, steering: str, tokens: Sequence[int]) -> bool:
        path = self._name(steering, tokens)
        with contextlib.suppress(OSError):
            os.utime(path)  # a save that finds its entry counts as a use
            return True
        return False

    def load(self, entry: Entry) -> bytes | None:
        """The entry's state, or None (with a debug log) when it vanished, is truncated or corrupt."""
        try:
            with entry.path.open("rb") as f:
                f.seek(len(MAGIC))
                (length,) = _LENGTH.unpack(f.read(_LENGTH.size))
                f.seek(length, os.SEEK_CUR)
                blob = f.read(entry.blob_size + 1)
        except (OSError, struct.error) as exc:
            log.debug("prompt cache: %s unreadable (%s)", entry.path.name, exc)
            return None
        if len(blob) != entry.blob_size or _digest(blob) != entry.blob_digest:
            log.debug("prompt cache: %s is truncated or corrupt, ignored (and removed)", entry.path.name)
            with contextlib.suppress(OSError):
                entry.path.unlink()  # entries are renamed into place whole: this one will not heal
            return None
        with contextlib.suppress(OSError):
            os.utime(entry.path)  # least recently used goes first
        return blob

    def save(self, steering: str, tokens: Sequence[int], blob: bytes) -> Path | None:
        """Write an entry atomically (temp file + rename), then trim the directory to its size limit."""
        if len(blob) + 4096 > self.limit_bytes:
            return None
        header = json.dumps(
            {
                "format": 1,
                "context": self.context,
                "steering": steering,
                "tokens": list(tokens),
                "blob_size": len(blob),
                "blob_digest": _digest(blob),
            }
        ).encode()
        target = self._name(steering, tokens)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".kv")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(MAGIC + _LENGTH.pack(len(header)) + header)
                    f.write(blob)
                os.replace(temp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except OSError as exc:
            log.debug("prompt cache: could not write %s (%s)", target.name, exc)
            return None
        self.trim()
        return target

    def trim(self) -> None:
        """Delete the least recently used entries until the directory fits its limit (any context)."""
        files = []
        now = time.time()
        for path in self.directory.glob("*.kv"):
            try:
                stat = path.stat()
            except OSError:
                continue  # another run removed it
            if path.name.startswith(".tmp-"):
                if now - stat.st_mtime > STALE_TEMP_SECONDS:
                    with contextlib.suppress(OSError):
                        path.unlink()
                continue
            files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.limit_bytes:
                break
            with contextlib.suppress(OSError):
                path.unlink()
            total -= size


def read_header(path: Path) -> Entry | None:
    try:
        with path.open("rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                raise ValueError("not a prompt cache entry")
            (length,) = _LENGTH.unpack(f.read(_LENGTH.size))
            header = json.loads(f.read(length))
        return Entry(path, tuple(int(t) for t in header["tokens"]), int(header["blob_size"]), header["blob_digest"])
    except FileNotFoundError:
        return None  # evicted by another run meanwhile
    except (OSError, ValueError, KeyError, TypeError, struct.error) as exc:
        log.debug("prompt cache: %s has a bad header (%s), ignored", path.name, exc)
        return None


def _digest(blob: bytes) -> str:
    return hashlib.blake2b(blob, digest_size=16).hexdigest()
