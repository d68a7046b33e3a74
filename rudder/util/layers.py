"""Layer lists for people: [1, 2, 3, 7] -> "1-3, 7", and "10-15" / "3,5,7-9" -> layer numbers."""

from __future__ import annotations

import re
from collections.abc import Iterable


def layer_spans(layers: Iterable[int]) -> str:
    spans: list[list[int]] = []
    for layer in sorted(set(layers)):
        if spans and layer == spans[-1][-1] + 1:
            spans[-1].append(layer)
        else:
            spans.append([layer])
    return ", ".join(f"{s[0]}-{s[-1]}" if len(s) > 1 else str(s[0]) for s in spans)


_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*$")


def parse_layers(spec: str | list[int] | None) -> tuple[int, ...] | None:
    """ "10-15", "3,5,7-9", [10, 11] or None (= every layer of the vector)."""
    if spec is None or isinstance(spec, list):
        return tuple(spec) if spec is not None else None
    layers: list[int] = []
    for part in spec.split(","):
        match = _RANGE.match(part)
        if not match:
            raise ValueError(f"layers must look like '10-15' or '3,5,7-9', got {spec!r}")
        start, end = int(match[1]), int(match[2] or match[1])
        if end < start:
            raise ValueError(f"layer range {part.strip()!r} runs backwards")
        layers.extend(range(start, end + 1))
    return tuple(sorted(set(layers)))
