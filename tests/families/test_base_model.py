"""A model without a chat template (a base model) reads plain-completion prompts: no ChatML marker leaks into
what it is given, in extraction, calibration, `vectors apply` or `chat`. The tiny gemma3 model is one: its
GGUF has no template and SmolLM2's vocabulary (which it borrows) has no `<start_of_turn>` token."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder.cli import app
from rudder.engine.chat_formats import KNOWN
from rudder.vectors.extraction.dataset import load_dataset
from rudder.vectors.extraction.extract import extract, render_prompts
from rudder.vectors.files.formats import save_vector
from rudder.vectors.trust.calibrate import ask

pytestmark = pytest.mark.slow

DATASET = Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "datasets" / "terse_verbose.jsonl"
MARKERS = {marker for fmt in KNOWN for marker in fmt.markers} | {"<|im_start|>", "<｜User｜>"}
ENV = {"RUDDER_THREADS": "1", "NO_COLOR": "1"}


@pytest.fixture
def base(family_engines):
    eng = family_engines("gemma3")
    eng.reset()
    yield eng
    eng.hook.clear()
    eng.reset()


def assert_plain(text: str) -> None:
    leaked = [marker for marker in MARKERS if marker in text]
    assert not leaked, (leaked, text[:300])


def test_a_base_model_gets_the_plain_completion_form(base) -> None:
    assert (base.info.chat_template_source, base.info.chat_format) == ("completion", "completion")
    prompt = base.format_chat([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}])
    assert prompt == "Be brief.\n\nQuestion: Hi?\n\nAnswer:"
    assert "\nQuestion:" in base.stop_text  # an answer ends where the model starts the next question


def test_dataset_and_calibration_prompts_carry_no_chat_markers(base) -> None:
    for dataset in sorted(DATASET.parent.glob("*.jsonl")):  # every shipped recipe's dataset
        data = load_dataset(dataset)
        for text in render_prompts(base, [*data.positives, *data.negatives]):
            assert_plain(text)
    for answer in ask(base, "You are a coding assistant.", ["What is a list?"], max_tokens=4):
        assert_plain(base.detokenize(answer.prompt_tokens))


def test_vectors_apply_and_chat_run_on_a_base_model(base, tiny_model, tmp_path: Path) -> None:
    vector = extract(base, load_dataset(DATASET, limit=6), [1, 2], name="terse")
    save_vector(vector, tmp_path / "terse.gguf")
    model = str(tiny_model("gemma3"))
    apply = ["vectors", "apply", str(tmp_path / "terse.gguf"), "What is a list?", "--max-tokens", "6", "--model", model]
    result = CliRunner().invoke(app, apply, env=ENV)
    assert result.exit_code == 0, result.output
    assert "unsteered" in result.output
    result = CliRunner().invoke(app, ["chat", "--model", model, "--max-tokens", "6"], input="Hello\n", env=ENV)
    assert result.exit_code == 0, result.output
