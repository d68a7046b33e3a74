"""Custom commands: markdown prompt templates that become slash commands (the convention of opencode and
Claude Code), in the TUI and offered to ACP clients.

    user   <user config dir>/commands/NAME.md   (~/.config/rudder/commands, or $RUDDER_CONFIG_DIR/commands)
    repo   <repo>/.rudder/commands/NAME.md      listed as the repository's

`/NAME ARGS` sends the file's body as the message, `$ARGUMENTS` replaced by ARGS (and `$1`..`$9` by its
words); a body without either gets ARGS on a line of its own at the end. Optional YAML front matter:

    ---
    description: Review the working tree's changes
    argument-hint: FILE
    ---

Two differences from opencode, on purpose: a command never replaces a built-in one (`/undo` is always
Rudder's undo), and where you and the repository both define NAME, yours is used (the repository's words do
not take over a command you typed for years). A file that cannot be used is skipped with one warning that
names it; the others load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rudder.util.dirs import REPO_DIR, user_config_dir

# Rudder's own slash commands (the TUI's, ui/commands.py): no custom command may take these names
BUILTIN = frozenset({"mode", "undo", "diff", "tokens", "new", "sessions", "steer", "help", "instructions"})
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_BYTES = 64 << 10
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?\n?", re.S | re.M)
_POSITIONAL = re.compile(r"\$([1-9])")

Source = Literal["user", "repo"]


class FrontMatter(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)  # opencode's agent/model keys: not ours

    description: str = ""
    argument_hint: str = Field("", alias="argument-hint")


@dataclass(frozen=True)
class CustomCommand:
    name: str
    template: str
    source: Source
    path: Path
    description: str = ""
    argument_hint: str = ""

    @property
    def label(self) -> str:
        """The description as lists show it, saying whose command it is."""
        first = re.sub(r"\$ARGUMENTS|\$[1-9]", self.argument_hint or "ARGS", self.template.splitlines()[0])
        text = self.description or first[:60]
        return f"{text} (repo command)" if self.source == "repo" else text

    def expand(self, arguments: str) -> str:
        """The message `/name arguments` sends."""
        arguments = arguments.strip()
        words = arguments.split()
        uses = "$ARGUMENTS" in self.template or _POSITIONAL.search(self.template) is not None
        text = self.template.replace("$ARGUMENTS", arguments)
        text = _POSITIONAL.sub(lambda m: words[int(m.group(1)) - 1] if int(m.group(1)) <= len(words) else "", text)
        if arguments and not uses:
            text = f"{text}\n\n{arguments}"
        return text.strip()


@dataclass
class Commands:
    commands: dict[str, CustomCommand] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def get(self, name: str) -> CustomCommand | None:
        return self.commands.get(name)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self.commands.values(), key=lambda c: c.name))


def parse_command(path: Path, source: Source) -> CustomCommand:
    """One command file; ValueError naming the file and what was expected."""
    name = path.stem.lower()
    if not NAME.match(name):
        raise ValueError(f"{path}: the command name {path.stem!r} must be letters, digits, - or _ (at most 40)")
    try:
        raw = path.read_bytes()[:MAX_BYTES].decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    meta = FrontMatter()
    if match := _FRONT.match(raw):
        try:
            data = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: the front matter between the --- lines is not valid YAML ({exc})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the front matter must be `key: value` lines (description, argument-hint)")
        try:
            meta = FrontMatter.model_validate(data)
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0]["loc"])
            raise ValueError(f"{path}: front matter {where}: expected text ({exc.errors()[0]['msg']})") from None
        raw = raw[match.end() :]
    elif raw.startswith("---"):
        raise ValueError(f"{path}: the front matter opened with --- is never closed with a --- line")
    template = raw.strip()
    if not template:
        raise ValueError(f"{path}: the file has no prompt text")
    return CustomCommand(name, template, source, path, meta.description.strip(), meta.argument_hint.strip())


def command_dirs(repo: Path | None) -> list[tuple[Source, Path]]:
    dirs: list[tuple[Source, Path]] = [("user", user_config_dir() / "commands")]
    if repo is not None:
        dirs.append(("repo", repo / REPO_DIR / "commands"))
    return dirs


def load_commands(repo: Path | None) -> Commands:
    """The user's and the repository's commands; problems become warnings, one per file."""
    found = Commands()
    for source, directory in command_dirs(repo):
        for path in sorted(directory.glob("*.md")) if directory.is_dir() else []:
            try:
                command = parse_command(path, source)
            except ValueError as exc:
                found.warnings.append(f"{exc}; the command is not available")
                continue
            if command.name in BUILTIN:
                found.warnings.append(f"{path}: /{command.name} is a built-in command; this file is ignored")
            elif command.name in found.commands:
                mine = found.commands[command.name].path
                found.warnings.append(f"{path}: /{command.name} is already your own command ({mine}); ignored")
            else:
                found.commands[command.name] = command
    return found
