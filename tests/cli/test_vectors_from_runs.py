"""`rudder vectors extract --from-runs` and `rudder vectors gate` on recordings written here (no model needed:
the recordings hold the residuals). Drifted steps lean along one hidden axis, so the direction must find it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from rudder.cli import app
from rudder.vectors.extraction.recording import ActivationRecorder, steps_meta
from rudder.vectors.extraction.runlabels import FAIL, PASS
from rudder.vectors.files.card import load_card
from rudder.vectors.files.formats import load_vector

N_EMBD, LAYERS = 16, (3, 5)
MODEL = {"architecture": "llama", "name": "test", "n_embd": N_EMBD, "n_layer": 8}
AXIS = np.eye(N_EMBD, dtype=np.float32)[2]


def write_runs(folder: Path, split: str | None, seed: int, runs: int = 6) -> None:
    rng = np.random.default_rng(seed)
    for run in range(runs):
        passed = run % 2 == 0
        recorder = ActivationRecorder(LAYERS, N_EMBD)
        steps = []
        for index in range(4):
            residual = {}
            for node in recorder.nodes:
                row = rng.normal(0, 1, N_EMBD).astype(np.float32) + 4 * np.eye(N_EMBD, dtype=np.float32)[0]
                residual[node] = row + (2.5 * AXIS if not passed else 0)
            recorder.add(index, "thought", residual)
            steps.append({"index": index, "tool": "read_file", "arguments": {"path": f"f{index}.py"}})
        labels = [[PASS if passed else FAIL]] * 4
        meta = {"model": MODEL, "split": split, "task_id": f"task{run // 2}", "passed": passed}
        recorder.save(folder / f"task{run}.e1.activations.npz", meta | {"steps": steps_meta(steps, labels)})


def test_extract_from_train_runs_finds_the_axis_and_reports_dev_auroc(tmp_path: Path) -> None:
    write_runs(tmp_path / "train", "train", 1)
    write_runs(tmp_path / "dev", "dev", 2)
    runner = CliRunner()
    out = tmp_path / "drift.gguf"
    result = runner.invoke(
        app,
        ["vectors", "extract", "--from-runs", "train", "--dev", "dev", "--output", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "fail-run: 12 drifted vs 12 contrast steps" in result.output
    vector = load_vector(out)
    assert vector.layers == list(LAYERS) and vector.meta.method == "mean-diff-runs"
    assert float(vector.unit(5) @ AXIS) > 0.8  # the direction points towards the failing steps' lean
    card = load_card(out)
    assert card.runs is not None and card.runs.label == FAIL and len(card.runs.runs) == 6
    assert all(h.auroc > 0.9 and h.p < 0.05 for h in card.runs.dev) and card.runs.probe_layer in LAYERS

    gate = runner.invoke(app, ["vectors", "gate", str(out), "--from-runs", "dev"], catch_exceptions=False)
    assert gate.exit_code == 0, gate.output
    calibrated = load_card(out).gate
    assert calibrated is not None and calibrated.tpr > 0.8 and calibrated.fpr < 0.2
    assert 'above = "calibrated"' in gate.output


def test_dev_or_test_runs_are_refused_for_extraction_and_train_runs_for_the_gate(tmp_path: Path) -> None:
    write_runs(tmp_path / "dev", "dev", 2)
    write_runs(tmp_path / "train", "train", 1)
    write_runs(tmp_path / "plain", None, 3)
    runner = CliRunner()
    result = runner.invoke(app, ["vectors", "extract", "--from-runs", "dev", "-o", "x.gguf"])
    assert result.exit_code != 0 and "only train runs" in result.output and "split dev" in result.output
    assert not Path("x.gguf").exists()
    unsplit = runner.invoke(app, ["vectors", "extract", "--from-runs", "plain", "-o", "x.gguf"])
    assert unsplit.exit_code != 0 and "--allow-unsplit" in unsplit.output
    ok = runner.invoke(app, ["vectors", "extract", "--from-runs", "plain", "-o", "x.gguf", "--allow-unsplit"])
    assert ok.exit_code == 0, ok.output
    gate = runner.invoke(app, ["vectors", "gate", "x.gguf", "--from-runs", "train"])
    assert gate.exit_code != 0 and "only dev runs" in gate.output
    bad = runner.invoke(app, ["vectors", "extract", "--from-runs", "train", "-o", "y.gguf", "--labels", "nope"])
    assert bad.exit_code != 0 and "fail-run" in bad.output
