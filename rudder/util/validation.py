"""The one way to turn a pydantic ValidationError into lines that name the source and the key.

    describe_validation_error(".rudder.toml", exc)
        .rudder.toml: model.n_ctx: Input should be a valid integer (got 'big')
    describe_validation_error("demo.toml", exc, line_of=lambda loc: ...)      # modes: with line numbers
        demo.toml:13: vectors[0].scale: Input should be a valid number (got 'x')
    describe_validation_error(None, exc, root="arguments", separator="; ")   # a tool call's arguments
        content: Field required

Unknown keys read "unknown key"; the offending input is shown unless the message already quotes it or
the key is missing or unknown. `first_only` reports just the first problem (line-oriented formats,
where the next line is checked only once this one is fixed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import ValidationError

_MAX_INPUT = 200  # characters of the offending input shown


def format_loc(loc: Sequence[int | str]) -> str:
    """`("vectors", 0, "scale")` -> `vectors[0].scale`; pydantic's `[key]` for a bad dict key stays attached."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part)
            out += text if not out or text.startswith("[") else f".{text}"
    return out


def describe_validation_error(
    source: str | None,
    error: ValidationError,
    *,
    root: str = "(top level)",
    first_only: bool = False,
    show_input: bool = True,
    separator: str = "\n",
    line_of: Callable[[tuple[int | str, ...]], int | None] | None = None,
) -> str:
    items = error.errors()
    lines = []
    for item in items[:1] if first_only else items:
        loc = tuple(item["loc"])
        unknown = item["type"] == "extra_forbidden"
        message = "unknown key" if unknown else item["msg"]
        shown = repr(item.get("input"))
        got = ""
        if show_input and not unknown and item["type"] != "missing" and shown not in message:
            got = f" (got {shown if len(shown) <= _MAX_INPUT else shown[:_MAX_INPUT] + '...'})"
        where = source
        line = line_of(loc) if line_of is not None and source else None
        if line:
            where = f"{source}:{line}"
        text = f"{format_loc(loc) or root}: {message}{got}"
        lines.append(f"{where}: {text}" if where else text)
    return separator.join(lines)
