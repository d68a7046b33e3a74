"""The product claim, end to end: `rudder vectors extract` on the checked-in terse/verbose dataset gives a
vector that shortens answers to questions *not* in the dataset by at least 40%, and they stay coherent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rudder.cli import app
from rudder.engine.generation import Sampling
from rudder.vectors.files.formats import load_vector
from rudder.vectors.steering.plan import VectorUse, build_plan
from rudder.vectors.steering.steerer import Steerer

pytestmark = pytest.mark.slow

DATASET = Path(__file__).resolve().parents[2] / "rudder" / "vectors" / "datasets" / "terse_verbose.jsonl"
HELD_OUT = [
    "Explain how a rocket reaches orbit.",
    "What are the benefits of reading books?",
    "Describe how a river is formed.",
    "How do computers store data?",
    "What is the role of the liver?",
    "Why do people learn foreign languages?",
]
SCALE = 0.05  # of the residual norm, layers 10-15: the shipped modes use 0.04-0.05


def coherent(text: str) -> bool:
    """Cheap proxies for 'still language': mostly real words, not one phrase or character on repeat."""
    words = re.findall(r"[A-Za-z']+", text)
    if len(words) < 3:
        return False
    distinct = len({w.lower() for w in words}) / len(words)
    alphabetic = sum(len(w) for w in words) / max(1, len(text.replace(" ", "")))
    return distinct >= 0.4 and alphabetic >= 0.6 and not re.search(r"(.)\1{9,}", text)


def test_extracted_terse_vector_shortens_unseen_answers(engine, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RUDDER_CONFIG_DIR", str(tmp_path / "config"))
    dataset_text = DATASET.read_text()
    assert not any(question in dataset_text for question in HELD_OUT)
    out = tmp_path / "terse.gguf"
    result = CliRunner().invoke(app, ["vectors", "extract", str(DATASET), "--layers", "10-15", "-o", str(out)])
    assert result.exit_code == 0, result.output
    vector = load_vector(out, model=engine.info.identity)
    steerer = Steerer(engine)
    plan = build_plan([VectorUse(vector, SCALE)])

    def answers() -> list[str]:
        texts = []
        for question in HELD_OUT:
            engine.reset()
            prompt = engine.format_chat([{"role": "user", "content": question}])
            texts.append(engine.complete(prompt, Sampling(max_tokens=250)).text)
        return texts

    plain = answers()
    with steerer.steering(plan):
        terse = answers()
    plain_words = sum(len(t.split()) for t in plain)
    terse_words = sum(len(t.split()) for t in terse)
    reduction = 1 - terse_words / plain_words
    print(f"words: unsteered {plain_words}, steered {terse_words}, reduction {reduction:.0%}")
    assert reduction >= 0.40
    print(*terse, sep="\n---\n")
    assert all(coherent(text) for text in terse), terse
