"""Commands that load only when run: `rudder --help` must not import llama.cpp, the agent or the tools.

A group made with `lazy_group({...})` knows each lazy command's name, where it lives ("module:attr",
a Typer app or a command function) and its one-line help; the module is imported when the command is
looked up to run (or for its own --help), never to list the group's commands. tests/cli checks that
each one-line help here matches the command's own docstring.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

import click
import typer
from typer.core import TyperGroup

LazyTable = dict[str, tuple[str, str]]  # name -> ("module:attr", one-line help)


def load_command(target: str, name: str) -> click.Command:
    module, _, attr = target.partition(":")
    obj = getattr(importlib.import_module(module), attr)
    if isinstance(obj, typer.Typer):
        return typer.main.get_command(obj)
    single = typer.Typer(add_completion=False, rich_markup_mode=None)
    single.command(name)(obj)
    return typer.main.get_command(single)


class LazyGroup(TyperGroup):
    lazy: ClassVar[LazyTable] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in self.lazy:
            command = load_command(self.lazy[name][0], name)
            command.name = name
            self.add_command(command, name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                command = self.commands[name]
                if command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
            else:
                rows.append((name, self.lazy[name][1]))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def lazy_group(table: LazyTable) -> type[LazyGroup]:
    """A group class whose commands in `table` load on first use (pass as `typer.Typer(cls=...)`)."""
    return type("LazyGroup", (LazyGroup,), {"lazy": dict(table)})


def short_help(command: Any) -> str:
    """The one-line help click would show for a loaded command (for the consistency test)."""
    return command.get_short_help_str(200)
