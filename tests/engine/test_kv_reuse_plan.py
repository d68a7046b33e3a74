"""Which cached runs a new prompt can reuse after a change in its middle (plain arrays, no model)."""

from __future__ import annotations

import numpy as np

from rudder.engine.kv_reuse import Run, plan_runs


def arr(*parts: range | list[int]) -> np.ndarray:
    return np.asarray([t for part in parts for t in part], np.intc)


def test_removed_and_inserted_tokens_leave_the_rest_reusable() -> None:
    held = arr(range(300))
    prompt = arr(range(10), [900, 901, 902], range(60, 300), [5])  # 50 removed, 3 inserted after token 9
    assert plan_runs(held, prompt, 10, len(prompt) - 1, 64) == [Run(held=60, at=13, length=240)]


def test_several_changes_give_several_runs_in_order() -> None:
    held = arr(range(400))
    prompt = arr(range(10), [900], range(80, 200), [901, 902], range(260, 400), [7])
    assert plan_runs(held, prompt, 10, len(prompt) - 1, 64) == [Run(80, 11, 120), Run(260, 133, 140)]


def test_short_runs_rightward_moves_and_the_last_token_are_not_reused() -> None:
    held = arr(range(200))
    assert plan_runs(held, arr(range(10), range(100, 140), [1] * 50), 10, 99, 64) == []  # 40 < 64
    # inserting more than was removed would move the run towards the end: it is evaluated instead
    assert plan_runs(held, arr(range(10), [900] * 20, range(20, 200), [3]), 10, 210, 64) == []
    # the prompt's last token always stays to evaluate (its logits are the next token's)
    prompt = arr(range(10), range(50, 200))
    assert plan_runs(held, prompt, 10, len(prompt) - 1, 64) == [Run(50, 10, 149)]
