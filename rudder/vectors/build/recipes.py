"""Recipes: how to make each library vector for any model (`rudder vectors build`).

A recipe is a card's `Recipe` in a TOML file named after the vector: the shipped ones in
`rudder/vectors/build/recipes/`, yours in `<user config dir>/recipes/` (same name: yours wins). Its layers
may be shares of the model's depth, `layers = "33%-50%"` (10-15 on a 30-layer model, 20-30 on a 61-layer
one), so one recipe fits every model; `for_model` turns them into layer numbers and fills in the model's
steering site. A relative `dataset` is looked up beside the recipe file, then in the shipped datasets.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from rudder.util.dirs import user_config_dir
from rudder.util.validation import describe_validation_error
from rudder.vectors.files.card import DATASETS_DIR, Recipe
from rudder.vectors.meta import VectorError

SHIPPED_RECIPES = Path(__file__).parent / "recipes"
_SHARE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s*$")


@dataclass(frozen=True)
class NamedRecipe:
    name: str
    recipe: Recipe
    source: Path


def recipe_dirs() -> list[Path]:
    return [SHIPPED_RECIPES, user_config_dir() / "recipes"]


def load_recipe(path: Path) -> NamedRecipe:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise VectorError(f"{path}: cannot read recipe: {exc.strerror}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise VectorError(f"{path}: not a TOML recipe: {exc}") from None
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        raise VectorError(describe_validation_error(str(path), exc, first_only=True, show_input=False)) from None
    dataset = Path(recipe.dataset).expanduser()
    if not dataset.is_absolute():
        beside = path.parent / dataset
        dataset = beside if beside.is_file() else DATASETS_DIR / dataset
    if not dataset.is_file():
        raise VectorError(f"{path}: dataset {recipe.dataset!r} not found (looked for {dataset})")
    return NamedRecipe(path.stem, recipe.model_copy(update={"dataset": str(dataset)}), path)


def load_recipes(only: list[str] | None = None) -> list[NamedRecipe]:
    """Every recipe by name (a user's recipe replaces a shipped one), or the `only` ones in that order.
    One clear error for an unknown name or a bad recipe file (its dataset missing included)."""
    files: dict[str, Path] = {}
    for directory in recipe_dirs():
        for path in sorted(directory.glob("*.toml")) if directory.is_dir() else []:
            files[path.stem] = path
    names = only if only else sorted(files)
    unknown = [name for name in names if name not in files]
    if unknown:
        raise VectorError(
            f"no recipe named {', '.join(map(repr, unknown))}; recipes: {', '.join(sorted(files)) or 'none'} "
            f"(shipped in {SHIPPED_RECIPES}; add yours as NAME.toml in {user_config_dir() / 'recipes'})"
        )
    return [load_recipe(files[name]) for name in names]


def depth_layers(spec: str, n_layer: int) -> str:
    """`33%-50%` -> `10-15` on 30 layers; plain layer numbers pass through. Layers stay within 1..n_layer-2
    (llama.cpp's control vectors start at 1; the health check probes up to n_layer-2)."""
    top = max(1, n_layer - 2)

    def layer(part: str) -> int:
        share = _SHARE.match(part)
        if share is None:
            return min(max(int(part), 0), n_layer - 1)
        return min(max(round(float(share[1]) / 100 * n_layer), 1), top)

    spans = []
    for piece in spec.split(","):
        start, _, end = piece.partition("-") if "%" in piece else (piece, "", "")
        if "%" not in piece:
            spans.append(piece.strip())
            continue
        first, last = layer(start), layer(end or start)
        spans.append(f"{first}-{last}" if last > first else str(first))
    return ",".join(spans)


def for_model(recipe: Recipe, n_layer: int, site: str) -> Recipe:
    """The recipe with this model's layer numbers and, unless the recipe names one, its steering site."""
    fields = set(recipe.model_fields_set)
    return recipe.model_copy(
        update={
            "layers": depth_layers(recipe.layers, n_layer),
            "extract_layers": depth_layers(recipe.extract_layers, n_layer),
            "site": recipe.site if "site" in fields else site,
        }
    )
