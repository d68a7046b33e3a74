"""The repo map (after aider's): the most important definitions of the repository within a token budget.

A pipeline of small stages:
    collect   the files git would show
    tags      tree-sitter definitions and references (cached by mtime)
    rank      PageRank over "file A calls a name defined in file B" edges, personalised towards the files
              and names the task mentions
    fit       binary search for how many ranked definitions fit the budget
    render    file path, then its chosen definitions as `line: signature`
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from rudder.tools.base import Workspace
from rudder.tools.tags import Tag, file_tags, supported
from rudder.tools.walk import visible_files

TokenCounter = Callable[[str], int]
MAX_FILES = 2000  # beyond this the map samples the first files in path order


def collect(root: Path) -> list[str]:
    ws = Workspace(root)
    return [rel for rel in visible_files(ws, ws.root) if supported(rel)][:MAX_FILES]


def all_tags(root: Path, files: Sequence[str]) -> dict[str, list[Tag]]:
    out = {}
    for rel in files:
        try:
            out[rel] = file_tags(root / rel, rel)
        except (OSError, ValueError):
            continue  # unreadable or vanished: the map is a hint, not an inventory
    return out


def rank_files(
    tags: dict[str, list[Tag]], focus_files: Sequence[str] = (), focus_names: Sequence[str] = ()
) -> dict[str, float]:
    files = sorted(tags)
    if not files:
        return {}
    index = {f: i for i, f in enumerate(files)}
    defined_in: dict[str, set[str]] = defaultdict(set)
    for path, file_tags_ in tags.items():
        for tag in file_tags_:
            if tag.role == "def":
                defined_in[tag.name].add(path)
    names = set(focus_names)
    weights = np.zeros((len(files), len(files)))
    for path, file_tags_ in tags.items():
        for tag in file_tags_:
            if tag.role != "ref":
                continue
            for target in defined_in.get(tag.name, ()):
                if target != path:
                    weights[index[path], index[target]] += 10.0 if tag.name in names else 1.0
    personal = np.ones(len(files))
    for path in focus_files:
        if path in index:
            personal[index[path]] += 20.0
    for name in names:
        for path in defined_in.get(name, ()):
            personal[index[path]] += 10.0
    return dict(zip(files, _pagerank(weights, personal / personal.sum()), strict=True))


def _pagerank(weights: np.ndarray, personal: np.ndarray, damping: float = 0.85, steps: int = 50) -> np.ndarray:
    out = weights.sum(axis=1, keepdims=True)
    transition = np.divide(weights, out, out=np.zeros_like(weights), where=out > 0)
    rank = personal.copy()
    for _ in range(steps):
        dangling = rank[out[:, 0] == 0].sum()
        rank = (1 - damping) * personal + damping * (rank @ transition + dangling * personal)
    return rank


def ranked_definitions(tags: dict[str, list[Tag]], ranks: dict[str, float], focus_names: Sequence[str]) -> list[Tag]:
    names = set(focus_names)
    definitions = [t for file_tags_ in tags.values() for t in file_tags_ if t.role == "def"]
    return sorted(
        definitions, key=lambda t: (-(ranks.get(t.path, 0) + (1.0 if t.name in names else 0)), t.path, t.line)
    )


def render(definitions: Sequence[Tag]) -> str:
    by_file: dict[str, list[Tag]] = {}
    for tag in definitions:
        by_file.setdefault(tag.path, []).append(tag)
    lines = []
    for path, file_defs in by_file.items():
        lines.append(f"{path}:")
        lines += [f"  {t.line}: {t.signature or t.name}" for t in sorted(file_defs, key=lambda t: t.line)]
    return "\n".join(lines)


def fit(definitions: Sequence[Tag], budget_tokens: int, count_tokens: TokenCounter) -> str:
    low, high, best = 0, len(definitions), ""
    while low <= high:
        middle = (low + high) // 2
        text = render(definitions[:middle])
        if count_tokens(text) <= budget_tokens:
            best, low = text, middle + 1
        else:
            high = middle - 1
    return best


def build_repo_map(
    root: Path,
    *,
    budget_tokens: int,
    focus_files: Sequence[str] = (),
    focus_names: Sequence[str] = (),
    count_tokens: TokenCounter | None = None,
) -> str:
    counter = count_tokens or (lambda text: len(text) // 4)
    tags = all_tags(root, collect(root))
    ranks = rank_files(tags, focus_files, focus_names)
    return fit(ranked_definitions(tags, ranks, focus_names), budget_tokens, counter)
