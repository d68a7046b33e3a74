"""The one atomic writer: write a temporary sibling, fsync, rename. Readers see the old file or the new one.

A replaced file keeps its permission bits; a new file gets the mode the user's umask gives new files
(mkstemp alone would leave it 0600). The temporary name starts with a dot and ends in `.rudder-tmp`, so
globs like `*.gguf` (the vector library) and editors' file lists never pick up a half-written file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(temporary_path)`, then move the result over `path` in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask()
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".rudder-tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        with open(temporary, "rb+") as written:  # the data must be on disk before the rename is
            os.fsync(written.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, content: str) -> None:
    """Write `content` as UTF-8, exactly (no newline translation)."""

    def write(target: Path) -> None:
        with open(target, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)

    write_atomically(path, write)


def _umask() -> int:
    """The process umask, read without changing it where /proc allows (os.umask alone is racy)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current
