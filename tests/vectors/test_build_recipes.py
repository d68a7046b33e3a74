"""Build recipes: layers relative to depth, the shipped recipes reproduce the shipped cards' layers on SmolLM2,
and a bad recipe (unknown name, missing dataset) is one clear line before any model loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder.cli import app
from rudder.vectors.build.recipes import depth_layers, for_model, load_recipes
from rudder.vectors.files.card import load_card
from rudder.vectors.files.library import SHIPPED_DIR
from rudder.vectors.meta import VectorError


@pytest.mark.parametrize(
    ("spec", "n_layer", "expected"),
    [
        ("33%-50%", 30, "10-15"),
        ("33%-50%", 61, "20-30"),  # DeepSeek-V4-Flash's depth: comparable layers
        ("3%-93%", 30, "1-28"),
        ("3%-93%", 61, "2-57"),
        ("33%-50%", 3, "1"),  # a tiny model: inside 1..n_layer-2, never layer 0 or the last
        ("10-15", 61, "10-15"),  # plain layer numbers stay as written
    ],
)
def test_layers_follow_the_models_depth(spec: str, n_layer: int, expected: str) -> None:
    assert depth_layers(spec, n_layer) == expected


def test_the_shipped_recipes_give_the_shipped_cards_layers_on_smollm2() -> None:
    recipes = load_recipes()
    assert {r.name for r in recipes} >= {"terse", "careful", "code-first", "stepwise"}
    for named in recipes:
        card = load_card(SHIPPED_DIR / f"{named.name}.smollm2-135m.gguf")
        assert card.recipe is not None
        resolved = for_model(named.recipe, 30, "l_out")
        assert (resolved.layers, resolved.extract_layers) == (card.recipe.layers, card.recipe.extract_layers)
        assert resolved.prompts == card.recipe.prompts and resolved.metric == card.recipe.metric
        assert named.recipe.ask, f"{named.name}: no prompt-only instruction for the comparison"
    assert for_model(load_recipes(["terse"])[0].recipe, 43, "ffn_out").site == "ffn_out"  # the model's site


def test_an_unknown_recipe_names_the_ones_there_are() -> None:
    with pytest.raises(VectorError, match=r"no recipe named 'tersee'; recipes: careful, code-first, stepwise, terse"):
        load_recipes(["tersee"])


def test_a_recipe_whose_dataset_is_missing_is_one_line_before_the_model_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUDDER_CONFIG_DIR", str(tmp_path))
    (tmp_path / "recipes").mkdir()
    recipe = tmp_path / "recipes" / "mine.toml"
    recipe.write_text('dataset = "mine.jsonl"\nlayers = "40%-50%"\n')
    result = CliRunner().invoke(
        app, ["vectors", "build", "--only", "mine", "--model", str(tmp_path / "never-loaded.gguf")]
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [f"error: {recipe}: dataset 'mine.jsonl' not found (looked for {Path(__file__).parents[2]}"
                     "/rudder/vectors/datasets/mine.jsonl)"]  # fmt: skip
    (tmp_path / "recipes" / "mine.jsonl").write_text(json.dumps({"positive": "a", "negative": "b"}) + "\n")
    assert load_recipes(["mine"])[0].recipe.dataset == str(tmp_path / "recipes" / "mine.jsonl")  # beside it


def test_a_model_file_that_is_not_a_gguf_is_one_line(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_text("not a model\n")
    result = CliRunner().invoke(app, ["vectors", "build", "--only", "terse", "--model", str(fake)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {fake} is not a GGUF model (expected the magic bytes 'GGUF', found b'not '); "
        "convert it with llama.cpp's convert_hf_to_gguf.py"
    ]
