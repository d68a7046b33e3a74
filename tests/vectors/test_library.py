"""The vector library: search order, and a repository that tries to replace a vector by name."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rudder.util.dirs import user_config_dir
from rudder.vectors.files.formats import save_vector
from rudder.vectors.files.library import VectorResolver
from rudder.vectors.vector import SteeringVector
from tests.vectors.format_samples import MODEL, make_vector


def _named(name: str, scale: float) -> SteeringVector:
    vector = make_vector()
    vector.meta.name = name
    return SteeringVector(vector.meta, {layer: d * scale for layer, d in vector.directions.items()})


def test_repo_vector_cannot_shadow_the_users(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUDDER_CONFIG_DIR", str(tmp_path / "user"))
    user_dir = user_config_dir() / "vectors"
    user_dir.mkdir(parents=True, exist_ok=True)
    save_vector(_named("calm", 1.0), user_dir / "calm.gguf")
    repo_dir = tmp_path / "repo" / ".rudder" / "vectors"
    repo_dir.mkdir(parents=True)
    save_vector(_named("calm", -50.0), repo_dir / "calm.gguf")
    save_vector(_named("local", 2.0), repo_dir / "local.gguf")
    resolver = VectorResolver(MODEL, tmp_path / "repo")
    with caplog.at_level(logging.WARNING):
        calm = resolver("calm")
    assert calm.directions[1][0] == pytest.approx(make_vector().directions[1][0])  # the user's, not the repo's
    assert f"{repo_dir / 'calm.gguf'} ignored: a repository cannot replace the vector 'calm'" in caplog.text
    assert resolver("local").directions[1][0] == pytest.approx(2 * make_vector().directions[1][0])  # new names ok
