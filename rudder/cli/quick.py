"""`rudder modes list` and `rudder vectors show NAME`, answered before typer loads.

Typer builds a pydantic adapter for every option of the command line it parses, and loading it with
click takes about a third of these commands' start-up. These two are what people type to look
around, so `main` asks here first. Only the plain forms are answered (the options each command has,
spelled out); anything else, --help or a bad value included, returns None and goes to typer, which
gives its usual help and errors. The output is the same: both call views.py.
"""

from __future__ import annotations

from pathlib import Path


def answer(argv: list[str]) -> int | None:
    """The exit code if `argv` was answered here, None to let typer handle it."""
    if argv[:2] == ["modes", "list"]:
        parsed = _modes_list_options(argv[2:])
        return None if parsed is None else _modes_list(*parsed)
    if len(argv) == 3 and argv[:2] == ["vectors", "show"] and not argv[2].startswith("-"):
        return _vectors_show(argv[2])
    return None


def _modes_list_options(args: list[str]) -> tuple[Path, bool] | None:
    """(--repo/-C, --twins/--no-twins) as typer would read them; None for anything else."""
    repo, twins = Path("."), False
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg in ("--twins", "--no-twins"):
            twins = arg == "--twins"
        elif arg in ("--repo", "-C") and rest:
            repo = Path(rest.pop(0))
        elif arg.startswith("--repo=") and arg != "--repo=":
            repo = Path(arg.removeprefix("--repo="))
        else:
            return None
    return (repo, twins) if repo.is_dir() else None  # typer says what is wrong with the path


def _modes_list(repo: Path, twins: bool) -> int:
    from rich.console import Console

    from rudder.cli.views import list_modes

    list_modes(Console(), repo, twins)
    return 0


def _vectors_show(ref: str) -> int:
    from rich.console import Console

    from rudder.cli import say
    from rudder.cli.views import show_vector
    from rudder.vectors.meta import VectorError

    try:
        show_vector(Console(), ref)
    except VectorError as exc:
        say.error(str(exc))
        return 2
    return 0
