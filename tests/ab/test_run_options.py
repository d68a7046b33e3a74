"""`rudder ab run`'s options through the real Inspect eval-set and the real worker pool, with a worker that
records its requests instead of loading the model (the model runs are in test_run.py): the seed of each
epoch, `--split`, and the provenance (commit, machine, date) the logs and the report carry."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from rudder.ab import pool as pool_module
from rudder.ab.evaltask import sample_seed
from rudder.ab.provenance import cpu_info, describe_machine, rudder_commit
from rudder.ab.report import write_report
from rudder.ab.results import load_results
from rudder.ab.runner import RunOptions, run_ab
from rudder.ab.sample import SampleRequest, SampleResult
from rudder.ab.suite import SuiteError, load_suite, select_tasks

ROOT = Path(__file__).resolve().parents[2]
MICRO = ROOT / "suites" / "micro"


class RecordingWorker:
    """Answers every request at once (pass when the task id is even-numbered) and remembers it."""

    def __init__(self, name: str, seen: list[SampleRequest]) -> None:
        self.name, self.seen = name, seen

    def call(self, line: str, timeout: float) -> str:
        request = SampleRequest.model_validate_json(line)
        self.seen.append(request)
        passed = int(request.task.id.rsplit("-", 1)[1]) % 2 == 0
        result = SampleResult(
            task_id=request.task.id,
            arm=request.arm,
            epoch=request.epoch,
            passed=passed,
            check_exit=0 if passed else 1,
            status="finished",
            steps=2,
            manifest={"sampling": {"seed": request.seed}},
        )
        return json.dumps({"result": result.model_dump(mode="json")})

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[list[SampleRequest], RunOptions]:
    seen: list[SampleRequest] = []
    tmp_path = tmp_path_factory.mktemp("ab")

    def create(cls, backend, jobs, model=None, **kwargs):
        return cls([RecordingWorker(f"w{i}", seen) for i in range(jobs)], **kwargs)

    opts = RunOptions(
        suite=str(MICRO),
        arms=["neutral", "fast-draft"],
        tasks="0-2",
        split="test",
        epochs=3,
        seed=40,
        temperature=0.7,
        out=str(tmp_path / "logs"),
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pool_module.Pool, "create", classmethod(create))
        counts = run_ab(opts, select_tasks(load_suite(MICRO), opts.tasks, opts.split))
    assert counts["finished"] == counts["total"] == 3 * 2 * 3
    return seen, opts


def test_each_epoch_samples_with_its_own_seed_and_arms_share_it(recorded):
    seen, _ = recorded
    seeds = {(r.task.id, r.arm, r.epoch): r.seed for r in seen}
    for (task, _arm, epoch), seed in seeds.items():
        assert seed == 40 + epoch - 1 == sample_seed(40, epoch)
        assert seeds[(task, "neutral", epoch)] == seed  # the arms see the same random draws
    assert all(r.temperature == 0.7 for r in seen)


def test_a_resume_from_another_checkout_path_names_the_path_to_pass(recorded, tmp_path):
    _, opts = recorded
    elsewhere = tmp_path / "checkout" / "suites"
    elsewhere.mkdir(parents=True)
    (elsewhere / "micro").symlink_to(MICRO)
    moved = opts.model_copy(update={"suite": str(elsewhere / "micro")})
    with pytest.raises(SuiteError, match=f"made with --suite {MICRO} .*a symlink at {MICRO} to {elsewhere / 'micro'}"):
        run_ab(moved, select_tasks(load_suite(MICRO), opts.tasks, opts.split))


def test_split_runs_only_the_recorded_tasks(recorded):
    seen, _ = recorded
    test_ids = [t.id for t in load_suite(MICRO).tasks if t.split == "test"][:3]
    assert sorted({r.task.id for r in seen}) == sorted(test_ids)
    assert all(r.task.split == "test" for r in seen)


def test_logs_and_report_state_commit_machine_date_and_split(recorded, tmp_path):
    _, opts = recorded
    run = load_results(opts.out).run
    assert run["split"] == "test" and run["temperature"] == 0.7 and run["seed"] == 40
    assert run["commit"] == rudder_commit() and run["machine"]["cpu"] and run["started"].endswith("UTC")
    write_report(opts.out, tmp_path / "report", n_boot=200)
    md = (tmp_path / "report" / "report.md").read_text()
    assert f"commit {rudder_commit()}" in md and describe_machine(run["machine"]) in md
    assert "split test" in md and f"started {run['started']}" in md


def test_cpu_info_reads_model_and_kernel_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: Example CPU @ 2.00GHz\nflags\t\t: fpu sse3 avx avx2 fma f16c avx512f pni\n\n"
        "processor\t: 1\nmodel name\t: Example CPU @ 2.00GHz\nflags\t\t: fpu sse3 avx avx2 fma f16c avx512f pni\n"
    )
    info = cpu_info(cpuinfo)
    assert info["cpu"] == "Example CPU @ 2.00GHz" and info["flags"] == ["sse3", "avx", "avx2", "fma", "f16c", "avx512f"]
    assert "avx2" in describe_machine(info) and describe_machine(None) == "not recorded"
    assert cpu_info(tmp_path / "missing")["flags"] == []
    assert info["extra_buffers"] is True and "buffers off" not in describe_machine(info)


def test_cpu_info_says_when_the_amx_buffers_are_off(tmp_path, monkeypatch):
    monkeypatch.delenv("RUDDER_LLAMA_EXTRA_BUFFERS", raising=False)
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t: Xeon\nflags\t\t: avx512f amx_tile hypervisor\n")
    vm = cpu_info(cpuinfo)
    assert vm["extra_buffers"] is False
    assert describe_machine(vm).endswith("avx512f amx_tile; llama.cpp extra (AMX) buffers off")


def test_rudder_commit_marks_a_dirty_checkout(tmp_path):
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.txt").write_text("1\n")
    git("add", "a.txt")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    head = rudder_commit(tmp_path)
    assert len(head) == 40 and "+" not in head
    (tmp_path / "a.txt").write_text("2\n")
    assert rudder_commit(tmp_path) == head + "+dirty"
    assert rudder_commit(tmp_path / "nowhere") == "unknown"


def test_a_log_dir_resumes_only_on_the_same_tasks(recorded):
    seen, opts = recorded
    suite = select_tasks(load_suite(MICRO), opts.tasks, opts.split)
    asked = len(seen)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pool_module.Pool, "create", classmethod(lambda cls, *a, **k: cls([RecordingWorker("w", seen)])))
        again = run_ab(opts, suite)  # everything is judged already: nothing runs again
        assert again["finished"] == again["total"] and len(seen) == asked
        changed = suite.model_copy(deep=True)
        changed.tasks[0].files = {**changed.tasks[0].files, "extra.txt": "x\n"}
        with pytest.raises(SuiteError, match="its logs were made on other tasks .* use a new --out"):
            run_ab(opts, changed)
    assert len(seen) == asked


def test_samples_of_a_stopped_run_count_as_pending_not_as_infrastructure_failures(recorded, tmp_path):
    from inspect_ai.log import EvalError, list_eval_logs, read_eval_log, write_eval_log

    _, opts = recorded
    out = tmp_path / "stopped"
    out.mkdir()
    for info in list_eval_logs(opts.out):
        log = read_eval_log(info)
        if log.eval.metadata["arm"] == "fast-draft":
            log.samples[0].error = EvalError(message="CancelledError()", traceback="", traceback_ansi="")
            log.samples[0].scores = None
        write_eval_log(log, str(out / info.name.rsplit("/", 1)[-1]))
    results = load_results(str(out))
    assert results.pending == 1 and not results.infra() and len(results.rows) == 3 * 2 * 3 - 1
    write_report(str(out), tmp_path / "report", n_boot=200)
    assert "**Incomplete**: 1 sample(s) are not judged yet" in (tmp_path / "report" / "report.md").read_text()


def test_options_left_at_their_defaults_do_not_change_the_task_identity(recorded):
    """Inspect pairs a log with its task by the solver's arguments too: an option added later (e.g. activation
    recording) must not be passed when unused, or every older log dir stops resuming."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    _, opts = recorded
    for info in list_eval_logs(opts.out):
        step = read_eval_log(info, header_only=True).plan.steps[0]
        assert set(step.params_passed) == {"suite", "arm", "seed", "temperature"}
