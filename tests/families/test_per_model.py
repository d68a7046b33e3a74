"""One vector name, one vector per model: a mode naming `terse` steers each tiny model with that model's own
terse vector from the library, never another model's."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudder.agent.factory import activate_mode
from rudder.interfaces import Phase, StepKind
from rudder.vectors.extraction.dataset import load_dataset
from rudder.vectors.extraction.extract import extract
from rudder.vectors.files.formats import save_vector

pytestmark = pytest.mark.slow

DATASET = Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "datasets" / "terse_verbose.jsonl"
MODE = """name = "tiny-terse"
description = "terse on the tiny models"
[[vectors]]
vector = "terse"
scale = 0.05
layers = "1"
"""


def test_a_mode_resolves_its_vector_for_the_loaded_model(
    family_engines, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUDDER_CONFIG_DIR", str(tmp_path / "config"))
    library = tmp_path / "config" / "vectors"
    library.mkdir(parents=True)
    (tmp_path / "config" / "modes").mkdir()
    (tmp_path / "config" / "modes" / "tiny-terse.toml").write_text(MODE)
    data = load_dataset(DATASET, limit=6)
    for arch in ("llama", "gemma3", "deepseek4"):
        eng = family_engines(arch)
        save_vector(
            extract(eng, data, [1], site=eng.profile.sites.default_site, name="terse"),
            library / f"terse.tiny-{arch}.gguf",
        )
    for arch in ("llama", "gemma3", "deepseek4"):
        eng = family_engines(arch)
        active = activate_mode(eng, None, "tiny-terse")
        assert active.vector_sources["terse"] == (library / f"terse.tiny-{arch}.gguf").resolve(), arch
        [op] = active.plan(StepKind.EDIT, Phase.THOUGHT).ops
        assert (op.site, op.layer, op.direction.shape) == (eng.profile.sites.default_site, 1, (eng.info.n_embd,))
    qwen = family_engines("qwen2")  # no terse of its own: the mode runs prompt-led and says so
    active = activate_mode(qwen, None, "tiny-terse")
    assert active.plan(StepKind.EDIT, Phase.THOUGHT).empty
    assert "no terse vector for this model yet" in (active.notice or "")
