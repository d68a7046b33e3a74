"""The micro suite: generated reproducibly, split as recorded, and every checker judges both ways (the
untouched repo fails, the generator's reference solution passes)."""

from __future__ import annotations

import os
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rudder.ab.microgen import KINDS, PER_KIND, generate, split_of, write_suite
from rudder.ab.microgen.common import GenTask
from rudder.ab.sample import run_check
from rudder.ab.suite import SuiteError, TaskDef, load_suite, select_tasks

ROOT = Path(__file__).resolve().parents[2]
MICRO = ROOT / "suites" / "micro"


def _tree(folder: Path) -> dict[str, tuple[bytes, bool]]:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), bool(p.stat().st_mode & 0o100))
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_committed_suite_is_what_the_generator_writes_byte_for_byte(tmp_path):
    write_suite(tmp_path / "a")
    write_suite(tmp_path / "b")
    first = _tree(tmp_path / "a")
    assert first == _tree(tmp_path / "b"), "two runs of the generator differ"
    committed = _tree(MICRO)
    assert committed.keys() == first.keys(), "suites/micro is stale: run python -m rudder.ab.microgen"
    stale = [name for name in first if first[name] != committed[name]]
    assert not stale, f"suites/micro differs from the generator in {stale[:5]}: run python -m rudder.ab.microgen"


def test_rewriting_replaces_old_task_folders_but_keeps_other_files(tmp_path):
    write_suite(tmp_path, per_kind=1)
    (tmp_path / "NOTES.md").write_text("kept\n")
    write_suite(tmp_path, per_kind=2)
    assert (tmp_path / "NOTES.md").read_text() == "kept\n"
    assert len(load_suite(tmp_path).tasks) == 2 * len(KINDS)


def test_suite_size_kinds_file_kinds_and_stratified_split():
    suite = load_suite(MICRO)
    assert len(suite.tasks) >= 300 and len(KINDS) >= 15
    kinds = Counter(t.tags[0] for t in suite.tasks)
    assert set(kinds) == set(KINDS) and set(kinds.values()) == {PER_KIND}
    assert {"python", "javascript", "shell", "text", "config"} <= {t.tags[1] for t in suite.tasks}
    per_kind_split = Counter((t.tags[0], t.split) for t in suite.tasks)
    for kind in KINDS:
        assert [per_kind_split[kind, s] for s in ("train", "dev", "test")] == [10, 4, 6], kind
    assert len({t.instruction for t in suite.tasks}) > 0.9 * len(suite.tasks), "instructions barely vary"


def test_split_of_is_a_partition_with_the_recorded_shares():
    labels = split_of(0, "count", 20)
    assert Counter(labels) == {"train": 10, "dev": 4, "test": 6}
    assert labels == split_of(0, "count", 20) and labels != split_of(1, "count", 20)


def test_select_split_then_tasks_and_errors():
    suite = load_suite(MICRO)
    test = select_tasks(suite, None, split="test")
    assert len(test.tasks) == 6 * len(KINDS) and {t.split for t in test.tasks} == {"test"}
    assert len(select_tasks(suite, "sample:5:1", split="dev").tasks) == 5
    assert {t.split for t in select_tasks(suite, "0-3", split="train").tasks} == {"train"}
    with pytest.raises(SuiteError, match="--split 'valid': expected one of train, dev, test"):
        select_tasks(suite, None, split="valid")
    starter = load_suite(ROOT / "suites" / "starter")
    with pytest.raises(SuiteError, match="records no test tasks"):
        select_tasks(starter, None, split="test")


def _fixture(task: TaskDef, folder: Path) -> Path:
    """The fixture as plain files (the checkers read files only; a git repo per check would triple the time)."""
    for rel, content in task.files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(content, encoding="utf-8")
    return folder


def _judge(pair: tuple[TaskDef, GenTask], parent: Path) -> list[str]:
    task, gen = pair
    problems = []
    untouched = _fixture(task, parent / task.id / "untouched")
    code, output, _ = run_check(task, untouched)
    if code == 0:
        problems.append(f"{task.id}: the checker passes on the untouched repo")
    solved = _fixture(task, parent / task.id / "solved")
    for rel, content in gen.solution.items():
        path = solved / rel
        if content is None:
            path.unlink()
        else:
            path.write_text(content, encoding="utf-8")
    code, output, _ = run_check(task, solved)
    if code != 0:
        problems.append(f"{task.id}: the reference solution fails: {output.strip()[-200:]}")
    return problems


def test_every_checker_fails_untouched_and_passes_the_reference_solution(tmp_path, monkeypatch):
    # the checkers' `python3` is this interpreter, not a version manager's shim (3x the start-up)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    pairs = generate()
    loaded = {t.id: t.model_dump() for t in load_suite(MICRO).tasks}
    assert {t.id: t.model_dump() for t, _ in pairs} == loaded, "the suite as loaded is not what was generated"
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        problems = [p for found in pool.map(lambda pair: _judge(pair, tmp_path), pairs) for p in found]
    assert not problems, "\n".join(problems[:20])
