"""Calibration on the real model: the chosen scale sits below the point where an over-scaled run degenerates."""

from __future__ import annotations

from pathlib import Path

import pytest

from rudder.vectors.files.card import Recipe
from rudder.vectors.files.formats import load_vector
from rudder.vectors.steering.plan import VectorUse, build_plan
from rudder.vectors.steering.steerer import Steerer
from rudder.vectors.trust.calibrate import DEFAULT_PROMPTS, ask, calibrate, perplexity, plot
from rudder.vectors.trust.textmetrics import damaged

pytestmark = pytest.mark.slow

TERSE = Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "library" / "terse.smollm2-135m.gguf"
OVER = 0.5  # ten times the fast-draft mode's strength


def test_calibration_stops_below_the_scale_where_answers_degenerate(fresh, tmp_path: Path) -> None:
    vector = load_vector(TERSE, model=fresh.info.identity)
    recipe = Recipe(dataset="terse_verbose.jsonl", prompts=DEFAULT_PROMPTS[:3], max_tokens=48)
    layers = range(10, 16)
    result = calibrate(fresh, vector, recipe, layers=layers, scales=[0.05, OVER])
    by_scale = {row.scale: row for row in result.rows}
    assert result.scale == 0.05
    # shorter, intact. The change is greedy answer length, which differs per build: -0.2165 (AVX-512+BF16),
    # -0.3267 (AVX2), -0.1485 (AVX only); the bound is half the weakest. No steering gives 0 (the same
    # greedy text), steering the wrong way a longer answer: both fail.
    assert by_scale[0.05].damaged == 0 and by_scale[0.05].change < -0.075
    over = by_scale[OVER]
    assert over.damaged >= 2 or over.perplexity > 4 * by_scale[0.0].perplexity

    # the over-scaled run, redone outside the sweep, is broken answer by answer
    with Steerer(fresh).steering(build_plan([VectorUse(vector, OVER, tuple(layers))])):
        broken = ask(fresh, recipe.system, recipe.prompts, 48)
    assert sum(bool(damaged(a.question, a.text)) for a in broken) >= 2, [a.text for a in broken]
    assert plot(result, "terse", tmp_path / "cal.png").stat().st_size > 1000


def test_guarded_calibration_counts_the_guards_actions_and_judges_what_is_left(fresh) -> None:
    vector = load_vector(TERSE, model=fresh.info.identity)
    recipe = Recipe(
        dataset="terse_verbose.jsonl", prompts=DEFAULT_PROMPTS[:2], max_tokens=64, scales=[OVER], guard=True
    )
    result = calibrate(fresh, vector, recipe, layers=range(10, 16), sign=-1.0)  # 'verbose' pushed far: loops
    assert result.guarded and result.rows[0].guard_actions == 0  # the unsteered answers are never guarded
    assert result.rows[1].scale == -OVER and result.rows[1].guard_actions >= 1


def test_perplexity_of_the_models_own_greedy_answer_is_low_and_of_shuffled_text_high(fresh) -> None:
    answer = ask(fresh, "", ["What is a variable in programming?"], 32)[0]
    own = perplexity(fresh, answer.prompt_tokens, answer.tokens)
    shuffled = perplexity(fresh, answer.prompt_tokens, answer.tokens[::-1])
    assert own < 3.0 < shuffled
