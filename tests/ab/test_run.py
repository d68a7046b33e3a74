"""End to end with the real model: `rudder ab run` on a 3-task suite × 2 arms × 2 epochs, killed with
SIGKILL mid-run and resumed; Inspect logs, the report, and the Ray backend giving the same results.

Workers are separate processes that load their own engine (the harness's design: one engine per
worker), so these tests do not use the session `engine` fixture. Tasks take one agent step each.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rudder.ab.results import load_results

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # minutes only on a crowded machine
TINY = Path(__file__).parent / "tiny"
ARMS = "neutral,fast-draft"


def _ab(out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rudder",
        "ab",
        "run",
        "--suite",
        str(TINY),
        "--arms",
        ARMS,
        "--out",
        str(out),
        *extra,
    ]


def _samples(out: Path) -> dict[tuple[str, str, int], str]:
    """(arm, task, epoch) -> sample uuid, for every judged sample in any log of the dir."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    found = {}
    for info in list_eval_logs(str(out)):
        try:
            log = read_eval_log(info)
        except Exception:  # a log being written right now
            continue
        for sample in log.samples or []:
            if sample.error is None and sample.scores:
                found[(log.eval.metadata["arm"], str(sample.id), sample.epoch)] = sample.uuid
    return found


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ab") / "logs"
    temp = out.parent / "tmp"  # where the workers make each sample's repository
    temp.mkdir()
    env = {**os.environ, "RUDDER_THREADS": "1", "TMPDIR": str(temp)}
    errors = (out.parent / "first.err").open("w")
    first = subprocess.Popen(
        _ab(out, "--epochs", "2", "--no-report"),
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )
    deadline = time.monotonic() + 400
    try:
        while len(_samples(out)) < 3 and time.monotonic() < deadline and first.poll() is None:
            time.sleep(1)
    finally:
        assert first.poll() is None, (out.parent / "first.err").read_text()[-2000:]
        os.killpg(first.pid, signal.SIGKILL)  # the driver and its workers, mid-run
        first.wait()
        errors.close()
    before = _samples(out)
    assert 3 <= len(before) < 12, f"the kill should land mid-run ({len(before)} samples finished)"
    second = subprocess.run(_ab(out, "--epochs", "2"), env=env, capture_output=True, text=True, timeout=1500)
    assert second.returncode == 0, second.stderr[-2000:]
    assert not list(temp.glob("rudder-ab-*"))  # the killed workers' sample repos went with the resumed run
    (out / "before.txt").write_text(repr(before))
    return out


def test_killed_run_resumes_without_duplicate_or_lost_samples(resumed_run):
    before = eval((resumed_run / "before.txt").read_text())
    results = load_results(str(resumed_run))
    keys = [r.key for r in results.rows]
    assert len(keys) == 12 and len(set(keys)) == 12  # 3 tasks × 2 arms × 2 epochs, each once
    assert not results.infra()
    after = _samples(resumed_run)
    for key, uuid in before.items():
        assert after[key] == uuid or key in after  # finished before the kill: still there
    # the final (retried) log of each arm holds each sample exactly once
    from inspect_ai.log import list_eval_logs, read_eval_log

    for info in list_eval_logs(str(resumed_run)):
        log = read_eval_log(info)
        ids = [(s.id, s.epoch) for s in log.samples or []]
        assert len(ids) == len(set(ids))


def test_logs_carry_the_manifest_and_the_report_is_written(resumed_run):
    from inspect_ai.log import list_eval_logs, read_eval_log

    log = read_eval_log(list_eval_logs(str(resumed_run))[0])
    assert log.eval.metadata["arms"] == ["neutral", "fast-draft"]
    manifest = log.samples[0].metadata["manifest"]
    assert manifest["model"]["sha256"] and manifest["mode"] == log.eval.metadata["arm"]
    assert manifest["sampling"]["temperature"] == 0.0
    report = resumed_run / "report"
    md = (report / "report.md").read_text()
    assert "| neutral |" in md and "| fast-draft |" in md and "## Verdict" in md
    html = (report / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "<table>" in html
    assert (report / "pass_rate.png").stat().st_size > 1000


def test_ray_backend_gives_the_same_results_as_local(resumed_run, tmp_path):
    ray = pytest.importorskip("ray")
    from rudder.ab.adapters import resolve_suite
    from rudder.ab.runner import RunOptions, run_ab
    from rudder.ab.suite import select_tasks

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", ""), "RUDDER_THREADS": "1"}},
    )
    try:
        opts = RunOptions(
            suite=str(TINY),
            arms=["neutral"],
            tasks="done,notes",
            epochs=1,
            jobs=2,
            backend="ray",
            out=str(tmp_path / "ray"),
        )
        counts = run_ab(opts, select_tasks(resolve_suite(str(TINY)), opts.tasks))
    finally:
        ray.shutdown()
    assert counts["finished"] == 2 and counts["infra"] == 0
    # "tokens" counts the prompt tokens a sample evaluated, which the persistent prompt cache makes depend on
    # what ran before (the local run filled the cache the ray workers then read): compare what the agent did
    local = {
        r.key: (r.outcome, r.metrics["steps"])
        for r in load_results(str(resumed_run)).rows
        if r.epoch == 1 and r.arm == "neutral" and r.task in ("done", "notes")
    }
    remote = {r.key: (r.outcome, r.metrics["steps"]) for r in load_results(opts.out).rows}
    assert remote == local
