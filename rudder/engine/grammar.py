"""Grammars for constrained generation, in llama.cpp's GBNF (the agent's tool calls are JSON Schema)."""

from __future__ import annotations

from llama_cpp.llama_grammar import json_schema_to_gbnf

# llama-cpp-python's string character lets raw control characters (a newline) into a JSON string, which a
# strict JSON parser rejects: the small model's calls then failed to parse and it looped on the error.
_LOOSE_CHAR = 'char ::= [^"\\\\] |'
_STRICT_CHAR = 'char ::= [^"\\\\\\x7F\\x00-\\x1F] |'


def json_schema_grammar(schema: str) -> str:
    """The GBNF grammar that accepts exactly the JSON documents `schema` (a JSON Schema text) describes."""
    return json_schema_to_gbnf(schema).replace(_LOOSE_CHAR, _STRICT_CHAR)
