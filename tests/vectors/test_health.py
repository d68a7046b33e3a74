"""Vector health: the statistics on synthetic data, and `rudder vectors check` on real vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rudder.cli import app
from rudder.cli.vectors_trust import print_health
from rudder.vectors.extraction.dataset import load_dataset
from rudder.vectors.files.formats import load_vector
from rudder.vectors.trust.health import auroc, check_vector, layer_health, recommend
from rudder.vectors.vector import random_like

LIBRARY = Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "library"
DATASET = LIBRARY.parent / "datasets" / "terse_verbose.jsonl"


def test_auroc_counts_ties_half_and_orders() -> None:
    assert auroc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert auroc(np.array([1.0, 2.0]), np.array([3.0, 4.0])) == 0.0
    assert auroc(np.array([1.0]), np.array([1.0])) == 0.5


def synthetic(rng, concept: np.ndarray, strength: float, n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    base = rng.standard_normal((n, concept.size))
    return base + strength * concept, base


def test_layer_health_tells_the_concept_from_a_random_direction() -> None:
    rng = np.random.default_rng(0)
    concept = rng.standard_normal(64)
    concept /= np.linalg.norm(concept)
    pos, neg = synthetic(rng, concept, 6.0)
    good = layer_health(1, concept, pos - neg, pos[-8:], neg[-8:], rng, 300)
    random = rng.standard_normal(64)
    bad = layer_health(1, random, pos - neg, pos[-8:], neg[-8:], rng, 300)
    assert good.verdict == "strong" and good.auroc > 0.95 and good.consistency > good.consistency_null
    assert bad.verdict == "weak" and bad.consistency < 0.3


def test_recommend_picks_the_most_consistent_run_of_usable_layers() -> None:
    rng = np.random.default_rng(1)
    concept = rng.standard_normal(32)
    pos, neg = synthetic(rng, concept / np.linalg.norm(concept), 6.0)
    healths = []
    for layer, direction in enumerate([concept, concept, rng.standard_normal(32), concept, concept, concept]):
        healths.append(layer_health(layer, direction, pos - neg, pos[-8:], neg[-8:], rng, 200))
    assert recommend(healths, 3) == "3-5"
    assert recommend(healths, 6) is None


def printed(health, name: str, capsys) -> str:
    print_health(health, name, list(range(10, 16)))
    return capsys.readouterr().out


@pytest.mark.slow
def test_check_calls_a_random_unit_vector_weak_and_the_terse_vector_strong(fresh, capsys) -> None:
    terse = load_vector(LIBRARY / "terse.smollm2-135m.gguf", model=fresh.info.identity)
    random = random_like(terse, "random", range(6, 19), seed=7)
    data = load_dataset(DATASET, limit=40)  # 10 held out: fewer leave layers 10-12 inside the null

    weak = check_vector(fresh, random, data, steer_layers=range(10, 16), permutations=200)
    assert weak.verdict == "weak"
    assert "random: weak" in printed(weak, "random", capsys)
    strong = check_vector(fresh, terse, data, steer_layers=range(10, 16), permutations=200)
    # The overall verdict is "strong" when more than half the steered layers are: 4 of 6 on the AVX-512+BF16
    # and the AVX2 build (layer 11 at AUROC 0.90 and 0.91, the threshold being 0.9), 3 of 6 ("ok") on an
    # AVX-only build (docs/portability.md). So the test holds what every build shows with margin: no steered
    # layer weak, and the deep layers 13-15 strong with consistency 0.548-0.611 and AUROC 0.98-1.0 on both
    # builds measured per layer (bound 0.45: ~0.1 below the lowest, 0.15 above the strong threshold 0.3).
    # A broken capture or extraction makes layers weak; the random vector above stays weak on every build.
    assert strong.verdict in ("strong", "ok"), strong.reasons
    by_layer = {h.layer: h for h in strong.layers}
    assert all(by_layer[layer].verdict != "weak" for layer in range(10, 16)), strong.layers
    deep = [by_layer[layer] for layer in (13, 14, 15)]
    assert all(h.verdict == "strong" and h.consistency > 0.45 for h in deep), deep
    assert strong.shift > 2 * abs(strong.shift_null)  # +129% to +132% against about -2%, every build
    assert strong.recommended_layers is not None
    assert f"terse: {strong.verdict}" in printed(strong, "terse", capsys)


def test_check_without_a_recipe_or_dataset_says_what_to_pass(tmp_path: Path) -> None:
    vector = tmp_path / "v.gguf"
    vector.write_bytes(b"")
    result = CliRunner().invoke(app, ["vectors", "check", str(vector)])
    assert result.exit_code == 2
    assert "--dataset" in result.output
