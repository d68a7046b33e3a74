"""Vector health: is this direction the concept its dataset contrasts, and does pushing it move the model?

Per layer, from activations of the vector's contrastive pairs (plain numpy, tested without a model):
  consistency   mean cosine between each pair's difference (positive - negative) and the vector
  AUROC         how well held-out positives and negatives separate when projected on the vector
  nulls         the same statistics with labels permuted (pair signs flipped / labels shuffled)
Then, with the model: steering held-out negatives by +scale must move them towards the positives at a
layer below the steered ones (`shift`, as a share of the positive-negative gap), further than a random
direction of the same size does. A vector no better than the nulls is **weak**.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import rankdata

from rudder.vectors.extraction.capture import as_the_model_runs, capture
from rudder.vectors.extraction.dataset import Dataset
from rudder.vectors.extraction.extract import render_prompts
from rudder.vectors.files.card import Health, LayerHealth
from rudder.vectors.steering.plan import VectorUse, build_plan
from rudder.vectors.steering.steerer import Steerer
from rudder.vectors.trust.norms import missing_norms, norms_of, with_norms
from rudder.vectors.vector import SteeringVector, VectorError

if TYPE_CHECKING:
    from rudder.engine.engine import Engine

STRONG = {"auroc": 0.9, "consistency": 0.3}
OK = {"auroc": 0.7, "consistency": 0.1}
ALPHA = 0.05
MIN_SHIFT = 0.05


def split(dataset: Dataset, holdout: float) -> tuple[Dataset, Dataset]:
    """The first pairs for extraction, the last `holdout` share kept out (at least 4 pairs if possible)."""
    n = len(dataset)
    n_test = min(n - 1, max(4, round(n * holdout))) if holdout > 0 else 0
    cut = n - n_test
    part = lambda a, b: Dataset(dataset.name, dataset.sha256, dataset.positives[a:b], dataset.negatives[a:b])  # noqa: E731
    return part(0, cut), part(cut, n)


def auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counted half (Mann-Whitney U / n1 n2)."""
    ranks = rankdata(np.concatenate([pos, neg]))
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))


def cosines(diffs: np.ndarray, direction: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(diffs, axis=1) * np.linalg.norm(direction)
    return (diffs @ direction) / np.where(norms == 0, 1.0, norms)


def layer_health(
    layer: int,
    direction: np.ndarray,
    diffs: np.ndarray,
    pos_test: np.ndarray,
    neg_test: np.ndarray,
    rng: np.random.Generator,
    permutations: int = 1000,
) -> LayerHealth:
    cos = cosines(diffs, direction)
    consistency = float(cos.mean())
    flips = rng.choice([-1.0, 1.0], size=(permutations, len(cos)))
    cons_null = (flips * cos).mean(axis=1)
    unit = direction / max(float(np.linalg.norm(direction)), 1e-12)
    scores = np.concatenate([pos_test @ unit, neg_test @ unit])
    n_pos = len(pos_test)
    observed = auroc(scores[:n_pos], scores[n_pos:])
    auc_null = np.empty(permutations)
    for i in range(permutations):
        shuffled = rng.permutation(scores)
        auc_null[i] = auroc(shuffled[:n_pos], shuffled[n_pos:])
    cons_p = float((1 + (cons_null >= consistency).sum()) / (1 + permutations))
    auc_p = float((1 + (auc_null >= observed).sum()) / (1 + permutations))
    return LayerHealth(
        layer=layer,
        consistency=round(consistency, 4),
        consistency_null=round(float(np.quantile(cons_null, 0.95)), 4),
        consistency_p=round(cons_p, 4),
        auroc=round(observed, 4),
        auroc_null=round(float(np.quantile(auc_null, 0.95)), 4),
        auroc_p=round(auc_p, 4),
        verdict=_verdict(consistency, cons_p, observed, auc_p),
    )


def _verdict(consistency: float, cons_p: float, auc: float, auc_p: float) -> str:
    beats_null = cons_p < ALPHA and auc_p < ALPHA
    if beats_null and auc >= STRONG["auroc"] and consistency >= STRONG["consistency"]:
        return "strong"
    if beats_null and auc >= OK["auroc"] and consistency >= OK["consistency"]:
        return "ok"
    return "weak"


def recommend(layers: Sequence[LayerHealth], width: int) -> str | None:
    """The window of `width` adjacent non-weak layers with the highest mean consistency."""
    usable = {h.layer: h for h in layers if h.verdict != "weak"}
    best, best_score = None, -1.0
    for start in sorted(usable):
        window = list(range(start, start + width))
        if all(layer in usable for layer in window):
            score = float(np.mean([usable[layer].consistency for layer in window]))
            if score > best_score:
                best, best_score = window, score
    return f"{best[0]}-{best[-1]}" if best else None


def check_vector(
    engine: Engine,
    vector: SteeringVector,
    dataset: Dataset,
    *,
    holdout: float = 0.25,
    steer_layers: Sequence[int] | None = None,
    scale: float = 0.05,
    permutations: int = 1000,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Health:
    """The full health report (captures every layer the vector has, then one steered pass). `progress(done,
    total)` counts the prompts read: every pair twice, then the held-out negatives steered twice."""
    if len(dataset) < 5:
        raise VectorError(f"dataset {dataset.name!r} has {len(dataset)} pairs; a health check needs at least 5")
    layers = vector.layers
    steer = sorted(steer_layers or layers)
    probe = min(max(steer) + 3, engine.info.n_layer - 2)
    site = vector.meta.site
    wanted = sorted(set(layers) | {probe})
    weights = as_the_model_runs(engine)  # a verdict on the model as it runs, not on a dense copy
    _, test = split(dataset, holdout)
    total = 2 * len(dataset) + 2 * len(test)

    def counted(offset: int) -> Callable[[int, int], None] | None:
        return (lambda done, _total: progress(offset + done, total)) if progress else None

    pos = capture(engine, render_prompts(engine, dataset.positives), wanted, site=site, weights=weights,
                  progress=counted(0))  # fmt: skip
    neg = capture(engine, render_prompts(engine, dataset.negatives), wanted, site=site, weights=weights,
                  progress=counted(len(dataset)))  # fmt: skip
    if missing_norms(vector, steer):  # a plain control vector: relative scales use the norms read just now
        vector = with_norms(vector, norms_of(pos, neg))
    n_test = len(test)
    rng = np.random.default_rng(seed)
    table = []
    for layer in layers:
        p, n = np.asarray(pos.data[layer]), np.asarray(neg.data[layer])
        table.append(layer_health(layer, vector.directions[layer], p - n, p[-n_test:], n[-n_test:], rng, permutations))
    shift, shift_null = _shifts(engine, vector, test, steer, scale, probe, pos, neg, rng, counted(2 * len(dataset)))
    by_layer = {h.layer: h for h in table}
    steered = [by_layer[layer] for layer in steer if layer in by_layer]
    verdict, reasons = _overall(steered, shift, shift_null)
    return Health(
        verdict=verdict,
        reasons=reasons,
        pairs=len(dataset),
        held_out_pairs=n_test,
        layers=table,
        recommended_layers=recommend(table, min(6, len(layers))),
        steer_layers=layer_spec(steer),
        steer_scale=scale,
        probe_layer=probe,
        shift=round(shift, 4),
        shift_null=round(shift_null, 4),
        permutations=permutations,
    )


def _shifts(engine, vector, test, steer, scale, probe, pos, neg, rng, progress=None) -> tuple[float, float]:
    """Share of the positive-negative gap at `probe` that steering the held-out negatives closes."""
    n_test = len(test)
    gap_dir = (np.asarray(pos.data[probe])[-n_test:] - np.asarray(neg.data[probe])[-n_test:]).mean(axis=0)
    gap = float(np.linalg.norm(gap_dir))
    unit = gap_dir / max(gap, 1e-12)
    base = np.asarray(neg.data[probe])[-n_test:] @ unit
    random = vector.select_layers(steer)
    random = type(vector)(
        random.meta,
        {layer: _random_like(d, rng) for layer, d in random.directions.items()},
    )
    steerer = Steerer(engine)
    out = []
    for index, candidate in enumerate((vector, random)):
        plan = build_plan([VectorUse(candidate, scale, tuple(steer))])
        step = (lambda done, _total, i=index: progress(i * n_test + done, 0)) if progress else None
        with steerer.steering(plan):
            moved = capture(
                engine,
                render_prompts(engine, test.negatives),
                [probe],
                site=vector.meta.site,
                weights=as_the_model_runs(engine),
                progress=step,
            )
        out.append(float(((np.asarray(moved.data[probe]) @ unit) - base).mean() / max(gap, 1e-12)))
    return out[0], out[1]


def layer_spec(layers: Sequence[int]) -> str:
    """`10-15` for a run, `3,5,9` otherwise (what modes and --layers accept)."""
    layers = sorted(layers)
    if layers == list(range(layers[0], layers[-1] + 1)) and len(layers) > 1:
        return f"{layers[0]}-{layers[-1]}"
    return ",".join(map(str, layers))


def _random_like(direction: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    r = rng.standard_normal(direction.shape).astype(np.float32)
    return r * np.float32(np.linalg.norm(direction) / np.linalg.norm(r))


def _overall(steered: list[LayerHealth], shift: float, shift_null: float) -> tuple[str, list[str]]:
    reasons = []
    if not steered:
        return "weak", ["the vector has none of the steered layers"]
    counts = {v: sum(h.verdict == v for h in steered) for v in ("strong", "ok", "weak")}
    if counts["weak"] * 2 >= len(steered):
        reasons.append(f"{counts['weak']}/{len(steered)} steered layers are no better than the permutation null")
    if shift < max(MIN_SHIFT, 2 * abs(shift_null)):
        reasons.append(
            f"+scale moves held-out negatives {shift:+.0%} of the way to the positives "
            f"(a random direction: {shift_null:+.0%})"
        )
    if reasons:
        return "weak", reasons
    verdict = "strong" if counts["strong"] * 2 > len(steered) else "ok"
    return verdict, [
        f"{counts['strong']} strong / {counts['ok']} ok of {len(steered)} steered layers; "
        f"+scale closes {shift:.0%} of the gap (random direction {shift_null:+.0%})"
    ]
