"""Discover the graph nodes a loaded model offers for steering and capture.

Node names differ per architecture and llama.cpp version (`l_out-N` for most, `l_last-N` and
`ffn_out-N` for deepseek4), so they are read from a real graph at run time, never hard-coded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rudder.engine.hook import GraphHook


class Probed(Protocol):
    """What site discovery needs of the engine (engine.py calls discover_sites once at load, so this module
    does not import the Engine back)."""

    hook: GraphHook

    def tokenize(self, text: str, *, special: bool = True, add_bos: bool = True) -> list[int]: ...

    def prefill(self, tokens: Sequence[int], *, reuse_cache: bool = True, stable: int = 0) -> tuple[int, int]: ...


_NODE = re.compile(r"^(?P<site>[A-Za-z_][A-Za-z0-9_.]*)-(?P<layer>\d+)$")
_GGML_TYPES = {0: "f32", 1: "f16", 30: "bf16"}


@dataclass
class Site:
    name: str  # node prefix: l_out, ffn_out, attn_out, ...
    layers: list[int] = field(default_factory=list)
    shape: tuple[int, ...] = ()  # ne[] with the token dimension as seen in the probe
    dtype: str = "f32"

    @property
    def row_size(self) -> int:
        return self.shape[0] if self.shape else 0

    def node(self, layer: int) -> str:
        return f"{self.name}-{layer}"


def discover_sites(engine: Probed, probe: str = "Hello") -> dict[str, Site]:
    """Evaluate a short probe with the hook's observer on; group `name-N` nodes by name."""
    seen: dict[str, Site] = {}

    def observe(name: str, type_: int, ne: tuple[int, int, int, int]) -> None:
        match = _NODE.match(name)
        if not match:
            return
        site = seen.setdefault(match["site"], Site(match["site"]))
        layer = int(match["layer"])
        if layer not in site.layers:
            site.layers.append(layer)
        if not site.shape:
            site.shape = tuple(int(n) for n in ne if n > 1) or (int(ne[0]),)
            site.dtype = _GGML_TYPES.get(type_, f"type{type_}")

    engine.hook.set_observer(observe)
    try:
        engine.prefill(engine.tokenize(probe), reuse_cache=False)
    finally:
        engine.hook.set_observer(None)
    for site in seen.values():
        site.layers.sort()
    return dict(sorted(seen.items()))


def steerable_sites(sites: dict[str, Site], n_embd: int) -> dict[str, Site]:
    """Sites whose rows are residual-sized f32 vectors: where a direction can be added or removed."""
    return {k: s for k, s in sites.items() if s.dtype == "f32" and s.row_size == n_embd}
