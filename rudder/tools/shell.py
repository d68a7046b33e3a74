"""Shell tools: run a bash command, run the project's tests (runner detected from its files)."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from rudder.interfaces import StepKind
from rudder.tools.base import Access, ToolArgs, ToolError, Workspace, tool
from rudder.tools.process import CommandResult, run_process

MAX_TIMEOUT = 600.0  # seconds a model may ask for, unless the configured default is longer
_VENVS = (".venv", "venv", "env")
_PYTEST_FLAGS = ["-q", "--tb=short"]
# what a command blocked by the sandbox prints; the model is then told what the sandbox allows
_SANDBOX_HINTS = re.compile(
    r"Read-only file system|Device or resource busy|Network is unreachable|Temporary failure in name resolution"
)


class RunShellArgs(ToolArgs):
    command: str = Field(description="bash command, run in the repo root")
    timeout: float | None = Field(None, gt=0, description="seconds before the command is killed; default from config")


@tool(access=Access.EXECUTE, step_kind=StepKind.EXPLORE)  # anything from `ls` to a build
def run_shell(ws: Workspace, args: RunShellArgs) -> str:
    """Run a bash command in the repo root; shows its output (stdout+stderr) and exit code."""
    if not args.command.strip():
        raise ToolError("command is empty")
    timeout, capped = _timeout(ws, args.timeout)
    result = _run(ws, ["bash", "-c", args.command], timeout)
    return _format(ws, result, timeout, capped)


class RunTestsArgs(ToolArgs):
    path: str | None = Field(None, description="test file or directory to run; default: the whole suite")
    timeout: float | None = Field(None, gt=0, description="seconds before the run is killed; default from config")


@tool(access=Access.EXECUTE, step_kind=StepKind.TEST)
def run_tests(ws: Workspace, args: RunTestsArgs) -> str:
    """Run the project's tests (pytest, npm test, go test or cargo test, detected from its files)."""
    runner = detect_test_runner(ws.root)
    if runner is None:
        raise ToolError(
            "no test runner detected (looked for pytest config or tests/, package.json scripts.test, "
            "go.mod, Cargo.toml); use run_shell to run tests another way"
        )
    argv, note = runner.argv, ""
    if args.path is not None:
        argv, note = _scoped(ws, runner, args.path)
    if shutil.which(argv[0]) is None:
        raise ToolError(f"detected {runner.name} tests, but {argv[0]!r} is not installed or not on PATH")
    timeout, capped = _timeout(ws, args.timeout)
    result = _run(ws, argv, timeout)
    shown = shlex.join([Path(argv[0]).name, *argv[1:]])
    head = f"runner: {runner.name} ({shown}){note}"
    return f"{head}\n{_format(ws, result, timeout, capped, tests=runner.name)}"


@dataclass(frozen=True)
class DetectedRunner:
    name: str  # pytest | npm | go | cargo
    argv: list[str]


def detect_test_runner(root: Path) -> DetectedRunner | None:
    """How the tests of the project at `root` are run, or None if no runner is recognised."""
    root = Path(root)
    if _uses_pytest(root):
        return DetectedRunner("pytest", [*_python_for_pytest(root), *_PYTEST_FLAGS])
    if _npm_test_script(root):
        return DetectedRunner("npm", ["npm", "test"])
    if (root / "go.mod").is_file():
        return DetectedRunner("go", ["go", "test", "./..."])
    if (root / "Cargo.toml").is_file():
        return DetectedRunner("cargo", ["cargo", "test"])
    return None


def _uses_pytest(root: Path) -> bool:
    if (root / "pytest.ini").is_file() or (root / "conftest.py").is_file():
        return True
    if _pytest_configured(root):
        return True
    if any(root.glob("test_*.py")):
        return True
    for name in ("tests", "test"):
        folder = root / name
        if folder.is_dir() and (any(folder.rglob("test_*.py")) or any(folder.rglob("*_test.py"))):
            return True
    return False


def _pytest_configured(root: Path) -> bool:
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            data = {}
        if "pytest" in data.get("tool", {}):
            return True
    for name, section in (("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
        path = root / name
        if path.is_file():
            parser = configparser.ConfigParser(interpolation=None)
            try:
                parser.read(path, encoding="utf-8")
            except (configparser.Error, UnicodeDecodeError):
                continue
            if parser.has_section(section):
                return True
    return False


def _python_for_pytest(root: Path) -> list[str]:
    """The project's own virtualenv first, then a pytest on PATH, then the interpreter running Rudder."""
    for venv in _VENVS:
        python = root / venv / "bin" / "python"
        if python.is_file():
            return [str(python), "-m", "pytest"]
    found = shutil.which("pytest")
    if found:
        return [found]
    return [sys.executable, "-m", "pytest"]


def _npm_test_script(root: Path) -> bool:
    package = root / "package.json"
    if not package.is_file():
        return False
    try:
        script = json.loads(package.read_text(encoding="utf-8")).get("scripts", {}).get("test")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return False
    # `npm init` writes a placeholder test script that only fails; it is not a test suite
    return isinstance(script, str) and bool(script.strip()) and "no test specified" not in script


def _scoped(ws: Workspace, runner: DetectedRunner, path: str) -> tuple[list[str], str]:
    full = ws.resolve(path, must_exist=True)
    rel = ws.relative(full)
    if runner.name == "pytest":
        return [*runner.argv, rel], ""
    if runner.name == "npm":
        return [*runner.argv, "--", rel], ""
    if runner.name == "go":
        package = rel if full.is_dir() else (Path(rel).parent.as_posix() or ".")
        return ["go", "test", f"./{package}/..." if package != "." else "./..."], ""
    return runner.argv, f" [path {path!r} ignored: {runner.name} test runs everything]"


def _timeout(ws: Workspace, requested: float | None) -> tuple[float, bool]:
    limit = max(ws.shell_timeout, MAX_TIMEOUT)
    wanted = requested if requested is not None else ws.shell_timeout
    return min(wanted, limit), wanted > limit


def _run(ws: Workspace, argv: list[str], timeout: float) -> CommandResult:
    if ws.sandbox is None:
        return _start(ws, argv, timeout)
    with ws.sandbox.command(argv, ws.root) as wrapped:
        return _start(ws, wrapped, timeout)


def _start(ws: Workspace, argv: list[str], timeout: float) -> CommandResult:
    try:
        return run_process(argv, cwd=ws.root, timeout=timeout, env=ws.env, cancel=ws.cancel)
    except OSError as exc:
        raise ToolError(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from exc


def _format(ws: Workspace, result: CommandResult, timeout: float, capped: bool, tests: str | None = None) -> str:
    output = result.clipped(ws.output_limit).rstrip()
    body = output or "(no output)"
    if result.interrupted:
        status = "interrupted by the user; the command and all its child processes were killed"
    elif result.timed_out:
        status = f"timed out after {timeout:g} s; the command and all its child processes were killed"
    else:
        status = f"exit code {result.exit_code}" + _meaning(result.exit_code, tests)
    notes = [status]
    if capped:
        notes.append(f"timeout capped at {timeout:g} s")
    if result.stray_killed:
        notes.append("background processes still holding the output were killed")
    if ws.sandbox is not None and _SANDBOX_HINTS.search(output):
        notes.append(ws.sandbox.describe())
    return f"{body}\n[{'; '.join(notes)}]"


def _meaning(code: int | None, tests: str | None) -> str:
    if code is not None and code < 0:
        return f" (killed by signal {-code})"
    if tests is None or code is None:
        return ""
    if tests == "pytest" and code == 5:
        return ": no tests collected"
    return ": tests passed" if code == 0 else ": tests failed"
