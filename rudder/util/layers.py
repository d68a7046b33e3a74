"""Layer lists for people: [1, 2, 3, 7] -> "1-3, 7"."""

from __future__ import annotations

from collections.abc import Iterable


def layer_spans(layers: Iterable[int]) -> str:
    spans: list[list[int]] = []
    for layer in sorted(set(layers)):
        if spans and layer == spans[-1][-1] + 1:
            spans[-1].append(layer)
        else:
            spans.append([layer])
    return ", ".join(f"{s[0]}-{s[-1]}" if len(s) > 1 else str(s[0]) for s in spans)
