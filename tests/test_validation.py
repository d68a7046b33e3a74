"""The one pydantic error formatter, with each of its options (config, modes, tool calls, vector files)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from rudder.util.validation import describe_validation_error, format_loc


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scale: float
    name: str


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Item] = []
    steps: dict[int, str] = {}


def _error(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Outer.model_validate(data)
    return caught.value


def test_every_problem_names_source_key_and_input() -> None:
    error = _error({"items": [{"scale": "big", "name": "a", "colour": 1}, {"scale": 1}], "oops": 2})
    assert describe_validation_error("f.toml", error).splitlines() == [
        "f.toml: items[0].scale: Input should be a valid number, unable to parse string as a number (got 'big')",
        "f.toml: items[0].colour: unknown key",
        "f.toml: items[1].name: Field required",
        "f.toml: oops: unknown key",
    ]


def test_options_line_numbers_first_only_no_input_separator_root() -> None:
    error = _error({"items": [{"scale": "big", "name": "a"}], "steps": {"x": "y"}})
    lines = describe_validation_error("m.toml", error, line_of=lambda loc: 7 if loc[0] == "items" else None)
    assert lines.splitlines()[0].startswith("m.toml:7: items[0].scale: Input should be a valid number")
    assert lines.splitlines()[1].startswith("m.toml: steps.x[key]: Input should be a valid integer")
    assert describe_validation_error("d.jsonl:3", error, first_only=True, show_input=False) == (
        "d.jsonl:3: items[0].scale: Input should be a valid number, unable to parse string as a number"
    )
    assert describe_validation_error(None, error, separator="; ").count("; ") == 1
    with pytest.raises(ValidationError) as caught:
        Outer.model_validate("not a dict")
    assert describe_validation_error(None, caught.value, root="arguments").startswith("arguments: Input should be")


def test_long_inputs_are_cut_and_locations_read_naturally() -> None:
    text = describe_validation_error("f", _error({"items": [{"scale": "x" * 500, "name": "a"}]}))
    assert len(text) < 350 and text.endswith("...)")
    assert format_loc(("vectors", 0, "scale")) == "vectors[0].scale"
    assert format_loc(("steps", "reviw", "[key]")) == "steps.reviw[key]"
