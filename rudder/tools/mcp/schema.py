"""An MCP tool's JSON Schema, made fit for Rudder's tool-call grammars and checked the way the server will.

The grammars (JSON protocol: one `oneOf` over all tools; DSML: one rule per parameter) want each tool's
arguments as a flat object schema without references, so local `$ref`s (`#/$defs/...`, what pydantic
servers such as the SDK's MCPServer write) are inlined; a recursive one becomes "any JSON value" there.
The arguments the model writes are validated against the server's schema as given (jsonschema), so a bad
call is an error the model can read before anything reaches the server.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ConfigDict, model_validator

from rudder.tools.base import ToolArgs

MAX_REF_DEPTH = 6  # nesting of inlined references before one counts as recursive
RESERVED = ("tool", "thought")  # the JSON protocol's own keys: a parameter may not be named so
_ROOT_ONLY = ("$schema", "$id", "$defs", "definitions", "title", "description")


def _resolve(ref: str, root: dict[str, Any]) -> Any:
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _inline(node: Any, root: dict[str, Any], depth: int) -> Any:
    if isinstance(node, list):
        return [_inline(item, root, depth) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("$ref"), str):
        target = _resolve(node["$ref"], root)
        if target is None or depth >= MAX_REF_DEPTH:
            return {}  # unknown or recursive: any value (the server still checks it)
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return _inline({**target, **siblings}, root, depth + 1)
    return {key: _inline(value, root, depth) for key, value in node.items() if key not in ("$defs", "definitions")}


def grammar_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The tool's arguments as an object schema without references (what the grammars are built from)."""
    if not isinstance(schema, dict):
        schema = {}
    flat = _inline({k: v for k, v in schema.items() if k not in _ROOT_ONLY}, schema, 0)
    properties = flat.get("properties")
    if flat.get("type") not in (None, "object") or not isinstance(properties, dict):
        properties = {}
    required = [r for r in flat.get("required", []) if isinstance(r, str) and r in properties]
    return {"type": "object", "properties": properties, "required": required}


def reserved_parameters(schema: dict[str, Any]) -> list[str]:
    return [name for name in RESERVED if name in grammar_schema(schema)["properties"]]


def _problems(validator: Any, data: Any) -> list[str]:
    out = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))[:3]:
        where = ".".join(str(p) for p in error.absolute_path)
        out.append(f"{where}: {error.message}" if where else error.message)
    return out


def arguments_model(name: str, schema: dict[str, Any]) -> type[ToolArgs]:
    """A ToolArgs class whose JSON schema is the tool's and whose validation is the server's schema."""
    import jsonschema  # only when a server lists tools

    given = copy.deepcopy(schema) if isinstance(schema, dict) and schema else {"type": "object"}
    for_grammar = grammar_schema(given)
    try:
        kind = jsonschema.validators.validator_for(given)
        kind.check_schema(given)
        validator = kind(given)
    except jsonschema.SchemaError:  # a schema that is itself broken: check what the grammar keeps
        validator = jsonschema.Draft202012Validator(for_grammar)

    class McpArguments(ToolArgs):
        model_config = ConfigDict(extra="allow")

        @model_validator(mode="before")
        @classmethod
        def _check(cls, data: Any) -> Any:
            problems = _problems(validator, data)
            if problems:
                raise ValueError("; ".join(problems))
            return data

        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return copy.deepcopy(for_grammar)

    McpArguments.__name__ = McpArguments.__qualname__ = f"McpArguments[{name}]"
    return McpArguments
