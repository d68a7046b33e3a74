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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rudder.modes.calibrated import CalibrationError, CardScales, resolve_calibrated
from rudder.modes.mode import Mode, StepOverride
from rudder.util.dirs import REPO_DIR, user_config_dir
from rudder.util.validation import describe_validation_error, format_loc

BUILTIN_DIR = Path(__file__).parent / "builtin"
TWINS = ("prompt-only", "vector-only")


class ModeError(ValueError):
    """A mode file is invalid or a mode is unknown; the message names the file, line and key."""


def line_of(text: str, loc: tuple[Any, ...]) -> int | None:
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


def parse_mode(text: str, source: Path, repo: Path | None = None) -> Mode:
    """A mode from TOML text; `scale = "calibrated"` is read from the vector's card (the library of `repo`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModeError(f"{source}: not valid TOML: {exc}") from None
    try:
        data = resolve_calibrated(data, CardScales(Path(source).parent, repo))
    except CalibrationError as exc:
        line = line_of(text, exc.loc)
        raise ModeError(f"{source}{f':{line}' if line else ''}: {format_loc(exc.loc)}: {exc}") from None
    try:
        mode = Mode.model_validate(data)
    except ValidationError as exc:
        described = describe_validation_error(str(source), exc, root="mode", line_of=lambda loc: line_of(text, loc))
        raise ModeError(described) from None
    return mode.model_copy(update={"source": source})


def load_mode_file(path: Path, repo: Path | None = None) -> Mode:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModeError(f"{path}: cannot read mode file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ModeError(f"{path}: not a UTF-8 text file; expected a mode in TOML") from None
    return parse_mode(text, path, repo)


def mode_dirs(repo: Path | None) -> list[Path]:
    dirs = [BUILTIN_DIR, user_config_dir() / "modes"]
    if repo is not None:
        dirs.append(repo / REPO_DIR / "modes")
    return dirs


@dataclass(frozen=True)
class ModeProblem:
    """A mode file that could not be loaded: the mode it claims to define (else its stem), and why.
    `fallback` is the file of the same-named mode used instead (a built-in or the user's), if there is one."""

    path: Path
    name: str
    message: str
    fallback: Path | None = None


@dataclass
class ModeScan:
    modes: dict[str, Mode] = field(default_factory=dict)
    problems: list[ModeProblem] = field(default_factory=list)


def _claimed_name(path: Path) -> str:
    try:
        name = tomllib.loads(path.read_text(encoding="utf-8")).get("name")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        name = None
    return name if isinstance(name, str) and name else path.stem


def scan_modes(repo: Path | None = None) -> ModeScan:
    """Every mode by name (later sources override earlier ones, twins included) and every bad file.

    A bad file does not stop the others from loading. A bad file that overrides a mode an earlier
    source defines (a broken repo `neutral.toml`) leaves that definition in place, and its problem
    names it as the `fallback` so the caller can say so: a typo in an override must not remove the
    built-in neutral that a default `rudder run` needs. A bad file naming a new mode defines nothing."""
    scan = ModeScan()
    for directory in mode_dirs(repo):
        if directory.is_dir():
            for path in sorted(directory.glob("*.toml")):
                try:
                    mode = load_mode_file(path, repo)
                except ModeError as exc:
                    scan.problems.append(ModeProblem(path, _claimed_name(path), str(exc)))
                    continue
                scan.modes[mode.name] = mode
    scan.problems = [  # the definition used instead: an earlier source's, or a later good file's
        p if p.name not in scan.modes else ModeProblem(p.path, p.name, p.message, scan.modes[p.name].source)
        for p in scan.problems
    ]
    for mode in list(scan.modes.values()):
        for twin in TWINS:
            scan.modes[f"{mode.name}/{twin}"] = make_twin(mode, twin)
    return scan


def load_modes(repo: Path | None = None) -> dict[str, Mode]:
    """The modes that load (see scan_modes for the files that do not)."""
    return scan_modes(repo).modes


def get_mode(name: str, repo: Path | None = None) -> Mode:
    """A mode by name; an error naming the file if the mode's file is bad (and no other source defines it),
    or listing the modes there are. A bad override of a mode defined elsewhere gives that definition
    (the caller warns about the file: say.warn_mode_problems)."""
    scan = scan_modes(repo)
    modes = scan.modes
    bad = [p for p in scan.problems if p.name == name.split("/")[0] and p.fallback is None]
    if bad:
        details = "\n".join(p.message for p in bad)
        raise ModeError(f"mode {bad[0].name!r} is defined in a file with errors:\n{details}")
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
