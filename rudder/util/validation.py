"""One way to turn a pydantic ValidationError into lines that name the source and the key."""

from __future__ import annotations

from pydantic import ValidationError


def describe_validation_error(source: str, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        got = f" (got {item['input']!r})" if item["type"] not in ("extra_forbidden", "missing") else ""
        msg = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        lines.append(f"{source}: {key}: {msg}{got}")
    return "\n".join(lines)
