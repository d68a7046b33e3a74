"""Contrastive datasets (JSONL): what the model reads to find a direction.

One JSON object per line, any mix of:

  {"positive": "raw text", "negative": "raw text"}
      used as-is (no chat template).
  {"positive": [{"role": "system", "content": ...}, {"role": "user", ...}], "negative": [...]}
      chat messages, rendered with the model's template plus the assistant prefix, so the last
      token is where the model starts to answer (CAA).
  {"template": "You are {persona}. {fill}", "positive": ["a terse person"], "negative": ["a verbose person"],
   "fill": ["Describe the ocean.", ...], "chat": true}
      repeng-style: every fill × persona pair (positive[i] against negative[i]).

A line starting with // is a comment. Errors name the file, the line and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rudder.util.validation import describe_validation_error
from rudder.vectors.vector import VectorError, sha256_bytes


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str


class Pair(BaseModel):
    model_config = ConfigDict(extra="forbid")
    positive: str | list[Message]
    negative: str | list[Message]

    @model_validator(mode="after")
    def _same_kind(self) -> Pair:
        if isinstance(self.positive, str) != isinstance(self.negative, str):
            raise ValueError("positive and negative must both be text or both be message lists")
        return self


class TemplateSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: Annotated[str, Field(min_length=1)]
    positive: list[str] = Field(min_length=1)
    negative: list[str] = Field(min_length=1)
    fill: list[str] = Field(default_factory=lambda: [""])
    chat: bool = True

    @model_validator(mode="after")
    def _balanced(self) -> TemplateSet:
        if len(self.positive) != len(self.negative):
            raise ValueError("positive and negative persona lists must have the same length")
        if "{persona}" not in self.template:
            raise ValueError("template must contain {persona}")
        return self


Prompt = str | list[dict[str, str]]  # raw text, or chat messages to render


@dataclass
class Dataset:
    name: str
    sha256: str
    positives: list[Prompt]
    negatives: list[Prompt]

    def __len__(self) -> int:
        return len(self.positives)


def _pairs_from(record: Pair | TemplateSet) -> list[tuple[Prompt, Prompt]]:
    if isinstance(record, Pair):
        if isinstance(record.positive, str):
            return [(record.positive, record.negative)]  # type: ignore[list-item]
        return [
            ([m.model_dump() for m in record.positive], [m.model_dump() for m in record.negative])  # type: ignore[union-attr]
        ]
    out: list[tuple[Prompt, Prompt]] = []
    for fill in record.fill:
        for pos, neg in zip(record.positive, record.negative, strict=True):
            texts = (record.template.format(persona=pos, fill=fill), record.template.format(persona=neg, fill=fill))
            if record.chat:
                out.append(([{"role": "user", "content": texts[0]}], [{"role": "user", "content": texts[1]}]))
            else:
                out.append(texts)
    return out


def load_dataset(path: Path, limit: int | None = None) -> Dataset:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise VectorError(f"{path}: cannot read dataset: {exc.strerror}") from None
    positives: list[Prompt] = []
    negatives: list[Prompt] = []
    for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("//"):
            continue
        try:
            raw_record = json.loads(text)
            model = TemplateSet if isinstance(raw_record, dict) and "template" in raw_record else Pair
            record = model.model_validate(raw_record)
        except json.JSONDecodeError as exc:
            raise VectorError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        except ValidationError as exc:
            problem = describe_validation_error(
                f"{path}:{number}", exc, root="record", first_only=True, show_input=False
            )
            raise VectorError(
                f"{problem} (expected {{positive, negative}} or {{template, positive, negative, fill}})"
            ) from None
        for pos, neg in _pairs_from(record):
            positives.append(pos)
            negatives.append(neg)
    if not positives:
        raise VectorError(f"{path}: the dataset has no pairs")
    if limit is not None:
        positives, negatives = positives[:limit], negatives[:limit]
    return Dataset(path.stem, sha256_bytes(raw), positives, negatives)
