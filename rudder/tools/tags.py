"""Symbols of source files with tree-sitter: definitions (for outlines and the repo map) and references
(calls, for ranking). One readable query per language; grammars come compiled in their wheels.

Tags are cached per file by (mtime, size), so a repo map over hundreds of files reparses only what changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import tree_sitter as ts

Role = Literal["def", "ref"]

_PY = """
(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function
(call function: [(identifier) @name (attribute attribute: (identifier) @name)]) @reference.call
"""
_JS_COMMON = """
(function_declaration name: (identifier) @name) @definition.function
(method_definition name: (property_identifier) @name) @definition.method
(lexical_declaration (variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression)]))
  @definition.function
(call_expression function: [(identifier) @name (member_expression property: (property_identifier) @name)])
  @reference.call
"""
_JS = _JS_COMMON + "(class_declaration name: (identifier) @name) @definition.class\n"
_TS = (
    _JS_COMMON
    + """
(class_declaration name: (type_identifier) @name) @definition.class
(abstract_class_declaration name: (type_identifier) @name) @definition.class
(interface_declaration name: (type_identifier) @name) @definition.interface
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.enum
"""
)
_GO = """
(function_declaration name: (identifier) @name) @definition.function
(method_declaration name: (field_identifier) @name) @definition.method
(type_spec name: (type_identifier) @name type: (struct_type)) @definition.struct
(type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface
(call_expression function: [(identifier) @name (selector_expression field: (field_identifier) @name)]) @reference.call
"""
_RUST = """
(function_item name: (identifier) @name) @definition.function
(struct_item name: (type_identifier) @name) @definition.struct
(enum_item name: (type_identifier) @name) @definition.enum
(trait_item name: (type_identifier) @name) @definition.trait
(impl_item type: (type_identifier) @name) @definition.impl
(call_expression function: [(identifier) @name (field_expression field: (field_identifier) @name)
  (scoped_identifier name: (identifier) @name)]) @reference.call
"""
_C = """
(function_definition declarator: (function_declarator declarator: (identifier) @name)) @definition.function
(function_definition declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name)))
  @definition.function
(struct_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.struct
(enum_specifier name: (type_identifier) @name body: (enumerator_list)) @definition.enum
(type_definition declarator: (type_identifier) @name) @definition.type
(call_expression function: (identifier) @name) @reference.call
"""


def _grammar(module: str, attr: str = "language") -> Callable[[], object]:
    def load() -> object:
        return getattr(__import__(module), attr)()

    return load


# extension -> (language name, grammar loader, query)
LANGUAGES: dict[str, tuple[str, Callable[[], object], str]] = {
    ".py": ("python", _grammar("tree_sitter_python"), _PY),
    ".js": ("javascript", _grammar("tree_sitter_javascript"), _JS),
    ".mjs": ("javascript", _grammar("tree_sitter_javascript"), _JS),
    ".jsx": ("javascript", _grammar("tree_sitter_javascript"), _JS),
    ".ts": ("typescript", _grammar("tree_sitter_typescript", "language_typescript"), _TS),
    ".tsx": ("tsx", _grammar("tree_sitter_typescript", "language_tsx"), _TS),
    ".go": ("go", _grammar("tree_sitter_go"), _GO),
    ".rs": ("rust", _grammar("tree_sitter_rust"), _RUST),
    ".c": ("c", _grammar("tree_sitter_c"), _C),
    ".h": ("c", _grammar("tree_sitter_c"), _C),
}


@dataclass(frozen=True)
class Tag:
    path: str  # relative to the repo root
    line: int  # 1-based
    end_line: int
    name: str
    kind: str  # class, function, method, struct, ... or call
    role: Role
    signature: str = ""  # the definition's first line, trimmed


def supported(path: str | Path) -> bool:
    return Path(path).suffix in LANGUAGES


def supported_languages() -> list[str]:
    return sorted({name for name, _, _ in LANGUAGES.values()})


_PER_THREAD = threading.local()  # a tree-sitter parser is not shared between threads (the map fills its store in one)


@cache
def _language_and_query(suffix: str) -> tuple[ts.Language, ts.Query]:
    _, load, query = LANGUAGES[suffix]
    language = ts.Language(load())
    return language, ts.Query(language, query)


def _parser_and_query(suffix: str) -> tuple[ts.Parser, ts.Query]:
    language, query = _language_and_query(suffix)
    parsers = _PER_THREAD.__dict__.setdefault("parsers", {})
    if suffix not in parsers:
        parsers[suffix] = ts.Parser(language)
    return parsers[suffix], query


PARSE_COUNT = [0]  # how many files were actually parsed (tests check the cache)
_CACHE: dict[Path, tuple[tuple[int, int], list[Tag]]] = {}


def file_tags(path: Path, relative: str) -> list[Tag]:
    """Definitions and references of one file ([] for unsupported languages); cached by mtime and size."""
    if not supported(path):
        return []
    stat = path.stat()
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _CACHE.get(path)
    if cached and cached[0] == key:
        return cached[1]
    tags = _parse(path.read_bytes(), path.suffix, relative)
    _CACHE[path] = (key, tags)
    return tags


def parse_source(source: bytes, suffix: str, relative: str) -> list[Tag]:
    """Tags of `source` as if it were the file `relative` (not cached: the tag store keys these by blob)."""
    return _parse(source, suffix, relative)


def _parse(source: bytes, suffix: str, relative: str) -> list[Tag]:
    PARSE_COUNT[0] += 1
    parser, query = _parser_and_query(suffix)
    tree = parser.parse(source)
    tags: list[Tag] = []
    for _, captures in ts.QueryCursor(query).matches(tree.root_node):
        names = captures.get("name")
        if not names:
            continue
        for capture, nodes in captures.items():
            if capture == "name":
                continue
            role: Role = "def" if capture.startswith("definition.") else "ref"
            node = nodes[0]
            first_line = source[node.start_byte :].split(b"\n", 1)[0].decode("utf-8", errors="replace")
            tags.append(
                Tag(
                    path=relative,
                    line=node.start_point[0] + 1,
                    end_line=node.end_point[0] + 1,
                    name=names[0].text.decode("utf-8", errors="replace"),
                    kind=capture.split(".", 1)[1],
                    role=role,
                    signature=first_line.strip()[:100] if role == "def" else "",
                )
            )
    return sorted(tags, key=lambda t: (t.line, t.role, t.name))
