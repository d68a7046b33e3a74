"""JSON strings under the agent's grammar hold no raw control characters (a strict JSON parser rejects
them): llama-cpp-python's json_schema_to_gbnf let a raw newline into a string, and the small model's calls
then failed to parse ("Invalid control character") and looped on the error."""

from __future__ import annotations

import json

from llama_cpp.llama_grammar import LlamaGrammar

from rudder.agent.protocols.json_calls import JsonProtocol
from rudder.engine.grammar import json_schema_grammar
from rudder.tools.toolbox import all_tools

SCHEMA = json.dumps({"type": "object", "properties": {"poem": {"type": "string"}}, "required": ["poem"]})


def _char_rule(grammar: str) -> str:
    return next(line for line in grammar.splitlines() if line.startswith("char ::="))


def test_the_char_rule_excludes_control_characters_and_still_parses() -> None:
    grammar = json_schema_grammar(SCHEMA)
    assert _char_rule(grammar).startswith(r'char ::= [^"\\\x7F\x00-\x1F] |')
    LlamaGrammar.from_string(grammar, verbose=False)  # llama.cpp's GBNF parser accepts it


def test_the_agents_call_grammar_uses_the_strict_char_rule() -> None:
    assert r"\x00-\x1F" in _char_rule(JsonProtocol(all_tools()).grammar())
