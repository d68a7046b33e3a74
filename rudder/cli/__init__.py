"""Rudder's command line. `rudder.cli.root` is the typer app (`app`); `main` is the `rudder` command.

`main` first lets quick.py answer the two listing commands that must start at once (`modes list`,
`vectors show NAME`) without loading typer; everything else, --help included, goes to the typer app.
"""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    from rudder.cli.quick import answer

    code = answer(sys.argv[1:])
    if code is not None:
        raise SystemExit(code)
    from rudder.cli.root import app

    app()


def __getattr__(name: str) -> Any:
    if name in ("app", "COMMANDS"):  # `from rudder.cli import app` loads typer only when asked
        from rudder.cli import root

        return getattr(root, name)
    raise AttributeError(f"module 'rudder.cli' has no attribute {name!r}")
