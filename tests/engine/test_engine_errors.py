"""Engine pieces that need no model loaded: refusing bad model files, matching stop sequences."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudder.engine.engine import Engine, EngineConfig, ModelLoadError
from rudder.engine.generation import StopMatcher
from rudder.engine.model_file import embedded_model_path


def test_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="model file not found: .*nope.gguf"):
        Engine(EngineConfig(model_path=tmp_path / "nope.gguf"))


def test_non_gguf_file_is_one_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "weights.gguf"
    bogus.write_text("this is not a model\n")
    with pytest.raises(ModelLoadError, match="is not a GGUF model"):
        Engine(EngineConfig(model_path=bogus))


def test_truncated_gguf_is_one_clear_error(tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    with embedded_model_path().open("rb") as model:
        cut.write_bytes(model.read(4096))
    with pytest.raises(ModelLoadError, match="cut.gguf"):
        Engine(EngineConfig(model_path=cut))


def test_stop_matcher_holds_back_partial_stops() -> None:
    matcher = StopMatcher(["STOP"])
    shown = matcher.feed("abc ST") + matcher.feed("O") + matcher.feed("P tail")
    assert shown == "abc " and matcher.stopped and matcher.text == "abc "
    plain = StopMatcher(["STOP"])
    assert plain.feed("abc ST") + plain.feed("x") + plain.flush() == "abc STx"
