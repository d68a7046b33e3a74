"""`rudder run --record-activations` on the real model: the recording lands beside the trajectory, one row per
step at the thought's first token, with the step's labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rudder.vectors.extraction.recording import load_recording
from tests.agent.test_agent_e2e import rudder
from tests.helpers import make_repo


@pytest.mark.slow
def test_rudder_run_records_each_steps_residual_beside_the_trajectory(tmp_path: Path) -> None:
    repo = tmp_path / "project"
    make_repo(repo, {"README.md": "# Project\n"})
    args = ("run", "create notes.txt containing: done", "--max-steps", "1", "--record-activations", "12,20")
    result = rudder(*args, cwd=repo, env_dir=tmp_path / "cfg")
    assert "activations:" in result.stderr, result.stderr
    (trajectory,) = (repo / ".git" / "rudder" / "trajectories").glob("*.jsonl")
    recording = load_recording(trajectory.with_name(trajectory.name.replace(".jsonl", ".activations.npz")))
    assert recording.layers == (12, 20) and recording.steps.tolist() == [0]
    thought = recording.rows("thought", 20)
    assert thought.shape == (1, 576) and np.isfinite(thought).all() and np.linalg.norm(thought) > 1
    assert recording.meta["passed"] is None and recording.meta["steps"][0]["index"] == 0
    assert recording.meta["model"]["n_embd"] == 576


@pytest.mark.slow  # the model's layer count is known once it loads
def test_a_bad_layer_list_is_refused_before_the_run(tmp_path: Path) -> None:
    repo = tmp_path / "project"
    make_repo(repo, {"README.md": "# Project\n"})
    result = rudder("run", "anything", "--record-activations", "12,99", cwd=repo, env_dir=tmp_path / "cfg")
    assert result.returncode != 0 and "--record-activations" in (result.stdout + result.stderr)
