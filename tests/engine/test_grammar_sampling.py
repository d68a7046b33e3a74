"""Grammar-first sampling (check only the sampled token) on the real model: same greedy output as the
full-vocabulary grammar pass, always valid under the grammar, and fewer full passes than tokens."""

from __future__ import annotations

import json

import pytest

from rudder.agent.protocols.json_calls import JsonProtocol
from rudder.engine.generation import Sampling
from rudder.tools.toolbox import all_tools

pytestmark = pytest.mark.slow

TASKS = [
    "Reply with one JSON tool call that writes a short poem about rain into poem.txt.",
    "Reply with one JSON tool call that reads the file setup.py.",
    "Reply with one JSON tool call that runs the command: ls -la",
]


@pytest.fixture
def grammar() -> str:
    return JsonProtocol(all_tools()).grammar()


def _complete(engine, task: str, grammar: str, first: bool, sampling: Sampling):
    engine.grammar_first = first
    engine.reset()
    try:
        generation = engine.stream(engine.format_chat([{"role": "user", "content": task}]), sampling, grammar=grammar)
        for _ in generation:
            pass
        return generation
    finally:
        engine.grammar_first = True


@pytest.mark.parametrize("task", TASKS)
def test_greedy_tokens_identical_to_the_full_grammar_pass(fresh, grammar, task) -> None:
    sampling = Sampling(max_tokens=80)
    full = _complete(fresh, task, grammar, False, sampling)
    first = _complete(fresh, task, grammar, True, sampling)
    assert first.tokens == full.tokens and first.text == full.text
    assert first.sampler.full_passes < first.stats.generated_tokens  # some tokens took the cheap check


def test_greedy_with_repeat_penalty_identical(fresh, grammar) -> None:
    sampling = Sampling(max_tokens=60, repeat_penalty=1.3)
    full = _complete(fresh, TASKS[0], grammar, False, sampling)
    first = _complete(fresh, TASKS[0], grammar, True, sampling)
    assert first.tokens == full.tokens


def test_sampled_output_stays_inside_the_grammar(fresh, grammar) -> None:
    protocol = JsonProtocol(all_tools())
    for seed in range(3):
        sampling = Sampling(max_tokens=200, temperature=1.2, top_k=0, top_p=1.0, min_p=0.0, seed=seed)
        generation = _complete(fresh, TASKS[seed], grammar, True, sampling)
        if generation.stats.stop_reason == "eos":  # complete: must be a valid call
            call = protocol.parse(generation.text)
            assert call.tool in {*all_tools(), "finish"}
        else:  # cut by max_tokens: still a prefix the grammar allowed, so JSON-shaped
            assert generation.text.lstrip().startswith("{")
            with pytest.raises(json.JSONDecodeError):
                json.loads(generation.text)


class _NoPiecesStarting:
    """A TokenFilter vetoing every piece that starts with `letter`; records what it was asked."""

    def __init__(self, letter: str) -> None:
        self.letter, self.asked = letter, []

    def active(self, text: str) -> bool:
        return True

    def adjust(self, text: str, piece: str) -> float:
        self.asked.append(piece)
        return float("-inf") if piece.lstrip().startswith(self.letter) else 0.0

    def fallback(self, text: str) -> str | None:
        return None


def _filtered(engine, grammar: str, token_filter) -> str:
    engine.reset()
    prompt = engine.format_chat([{"role": "user", "content": "Say hello."}])
    generation = engine.stream(prompt, Sampling(max_tokens=8), grammar=grammar, token_filter=token_filter)
    for _ in generation:
        pass
    return generation.text


def test_a_token_filter_vetoes_even_the_grammars_own_choice(engine) -> None:
    # after "Say hello." neither word is among the model's likely tokens: only the grammar picks them, so
    # the filter must be asked about the grammar's choice, not just the top candidates
    both = 'root ::= "zebra" | "yak"'
    preferred = _filtered(engine, both, None)
    other = "yak" if preferred == "zebra" else "zebra"
    veto = _NoPiecesStarting(preferred[0])
    assert _filtered(engine, both, veto) == other
    assert any(p.startswith(preferred[0]) for p in veto.asked)  # asked about the grammar's own choice
    # when the grammar allows only vetoed tokens the grammar wins: a filter never wedges a generation
    assert _filtered(engine, 'root ::= "zebra"', _NoPiecesStarting("z")) == "zebra"
