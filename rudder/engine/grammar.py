"""Grammars for constrained generation, in llama.cpp's GBNF (the agent's tool calls are JSON Schema)."""

from __future__ import annotations

from llama_cpp.llama_grammar import json_schema_to_gbnf


def json_schema_grammar(schema: str) -> str:
    """The GBNF grammar that accepts exactly the JSON documents `schema` (a JSON Schema text) describes."""
    return json_schema_to_gbnf(schema)
