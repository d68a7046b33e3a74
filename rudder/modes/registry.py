"""Where modes come from, and their twins.

Search order (a later source overrides an earlier one by name):
    built-in   rudder/modes/builtin/*.toml
    user       <user config dir>/modes/*.toml   (~/.config/rudder/modes, or $RUDDER_CONFIG_DIR/modes)
    repo       <repo>/.rudder/modes/*.toml

Every mode M also exists as two twins for A/B tests:
    M/prompt-only   same addendum, sampling and tool policy; no vectors
    M/vector-only   same vectors, sampling and tool policy; no addendum
so an experiment can separate what steering does from what prompting does.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rudder.modes.mode import Mode, StepOverride
from rudder.util.dirs import user_config_dir

BUILTIN_DIR = Path(__file__).parent / "builtin"
TWINS = ("prompt-only", "vector-only")


class ModeError(ValueError):
    """A mode file is invalid or a mode is unknown; the message names the file, line and key."""


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line number of a validation error's location in TOML source."""
    lines = text.splitlines()
    start, table = 0, []
    for part in loc:
        if isinstance(part, int):
            header = re.compile(rf"^\s*\[\[\s*{re.escape('.'.join(table))}\s*\]\]")
            hits = [i for i, line in enumerate(lines) if header.match(line)]
            if part < len(hits):
                start = hits[part]
            continue
        table.append(str(part))
        key = re.compile(rf"^\s*(\[+\s*)?{re.escape('.'.join(table))}\s*(\]|=)|^\s*{re.escape(str(part))}\s*=")
        for i in range(start, len(lines)):
            if key.match(lines[i]):
                start = i
                break
    return start + 1 if loc else None


def parse_mode(text: str, source: Path) -> Mode:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModeError(f"{source}: not valid TOML: {exc}") from None
    try:
        mode = Mode.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            key = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
            line = _line_of(text, loc)
            where = f"{source}:{line}" if line else str(source)
            message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
            got = f" (got {error['input']!r})"
            if error["type"] in ("extra_forbidden", "missing") or repr(error["input"]) in message:
                got = ""
            problems.append(f"{where}: {key or 'mode'}: {message}{got}")
        raise ModeError("\n".join(problems)) from None
    return mode.model_copy(update={"source": source})


def load_mode_file(path: Path) -> Mode:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModeError(f"{path}: cannot read mode file: {exc.strerror}") from None
    return parse_mode(text, path)


def mode_dirs(repo: Path | None) -> list[Path]:
    dirs = [BUILTIN_DIR, user_config_dir() / "modes"]
    if repo is not None:
        dirs.append(repo / ".rudder" / "modes")
    return dirs


def load_modes(repo: Path | None = None) -> dict[str, Mode]:
    """All modes by name, later sources overriding earlier ones, twins included."""
    modes: dict[str, Mode] = {}
    for directory in mode_dirs(repo):
        if directory.is_dir():
            for path in sorted(directory.glob("*.toml")):
                mode = load_mode_file(path)
                modes[mode.name] = mode
    for mode in list(modes.values()):
        for twin in TWINS:
            modes[f"{mode.name}/{twin}"] = make_twin(mode, twin)
    return modes


def get_mode(name: str, repo: Path | None = None) -> Mode:
    modes = load_modes(repo)
    if name not in modes:
        plain = sorted(n for n in modes if "/" not in n)
        raise ModeError(
            f"unknown mode {name!r}; available: {', '.join(plain)} (each also as NAME/prompt-only, NAME/vector-only)"
        )
    return modes[name]


def make_twin(mode: Mode, twin: str) -> Mode:
    if twin == "prompt-only":
        steps = {k: o.model_copy(update={"vectors": None, "scale_factor": 1.0}) for k, o in mode.steps.items()}
        return mode.model_copy(
            update={"name": f"{mode.name}/prompt-only", "vectors": [], "steps": _drop_empty(steps), "hotkey": None}
        )
    if twin == "vector-only":
        steps = {k: o.model_copy(update={"addendum": None}) for k, o in mode.steps.items()}
        return mode.model_copy(
            update={"name": f"{mode.name}/vector-only", "addendum": "", "steps": _drop_empty(steps), "hotkey": None}
        )
    raise ModeError(f"unknown twin {twin!r}; expected one of {', '.join(TWINS)}")


def _drop_empty(steps: dict[Any, StepOverride]) -> dict[Any, StepOverride]:
    return {k: o for k, o in steps.items() if o != StepOverride()}
