"""The extraction maths, on synthetic activations (no model)."""

from __future__ import annotations

import numpy as np

from rudder.vectors.extraction.extract import mean_difference, pca_direction


def synthetic(n: int = 64, dim: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    concept = rng.standard_normal(dim)
    concept /= np.linalg.norm(concept)
    base = rng.standard_normal((n, dim)) * 3
    strength = 2.0 + rng.random(n)
    noise = rng.standard_normal((n, dim)) * 0.1
    return base + np.outer(strength, concept) + noise, base - noise, concept


def test_mean_difference_recovers_the_concept() -> None:
    pos, neg, concept = synthetic()
    d = mean_difference(pos, neg)
    cos = d @ concept / np.linalg.norm(d)
    assert cos > 0.98
    assert 2.0 < np.linalg.norm(d) < 3.2  # keeps its natural size


def test_pca_recovers_the_concept_with_the_right_sign() -> None:
    pos, neg, concept = synthetic(seed=1)
    d = pca_direction(pos, neg)
    assert d @ concept / np.linalg.norm(d) > 0.98
    flipped = pca_direction(neg, pos)
    assert flipped @ concept < 0  # sign follows which side is positive


def test_pca_of_identical_differences_is_that_difference() -> None:
    pos = np.eye(4)[:3] + np.array([0, 0, 0, 2.0])
    neg = np.eye(4)[:3]
    d = pca_direction(pos, neg)
    np.testing.assert_allclose(d, [0, 0, 0, 2.0], atol=1e-6)
