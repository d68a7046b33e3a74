"""Contrastive datasets: the three record shapes and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rudder.vectors.extraction.dataset import load_dataset
from rudder.vectors.vector import VectorError


def write(tmp_path: Path, *records: object) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("// a comment\n" + "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


def test_pairs_chat_pairs_and_templates(tmp_path: Path) -> None:
    chat = [{"role": "user", "content": "hi"}]
    path = write(
        tmp_path,
        {"positive": "short", "negative": "long"},
        {"positive": chat, "negative": [{"role": "system", "content": "be long"}, *chat]},
        {"template": "You are {persona}. {fill}", "positive": ["terse"], "negative": ["verbose"], "fill": ["A", "B"]},
    )
    data = load_dataset(path)
    assert len(data) == 4 and data.name == "data" and len(data.sha256) == 64
    assert (data.positives[0], data.negatives[0]) == ("short", "long")
    assert data.positives[1] == chat
    assert data.positives[2] == [{"role": "user", "content": "You are terse. A"}]
    assert data.negatives[3] == [{"role": "user", "content": "You are verbose. B"}]
    assert len(load_dataset(path, limit=2)) == 2


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("{not json", r"data\.jsonl:2: not valid JSON"),
        ({"positive": "a"}, r"data\.jsonl:2: .*negative"),
        ({"positive": "a", "negative": [{"role": "user", "content": "b"}]}, "both be text or both be message lists"),
        ({"template": "no slot", "positive": ["a"], "negative": ["b"]}, r"must contain \{persona\}"),
        ({"template": "{persona}", "positive": ["a", "b"], "negative": ["c"]}, "same length"),
    ],
)
def test_bad_records_name_the_line(tmp_path: Path, record: object, message: str) -> None:
    with pytest.raises(VectorError, match=message):
        load_dataset(write(tmp_path, record))


def test_empty_and_missing_datasets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("// nothing\n")
    with pytest.raises(VectorError, match="has no pairs"):
        load_dataset(empty)
    with pytest.raises(VectorError, match="cannot read dataset"):
        load_dataset(tmp_path / "missing.jsonl")
