"""The repo map (after aider's): the most important definitions of the repository within a token budget.

A pipeline of small stages:
    collect   every file in git's index (and untracked ones git does not ignore), with blob ids, what is
              modified and what changed lately (agent/repofiles.py: git plumbing, no directory walk)
    names     what each file defines and calls: from the tag store (keyed by blob id, kept between runs),
              else parsed with tree-sitter, most relevant files first, for at most `parse_seconds`
    rank      PageRank over "file A calls a name defined in file B" edges, personalised towards the files
              and names the task mentions and the files changed lately (not by name: by references and
              recency)
    fit       the definitions of the best-ranked files, binary search for how many fit the budget
    render    file path, then its chosen definitions as `line: signature`

A cold map of a large repository parses what it can within `parse_seconds` and leaves the rest to the next
run (the store keeps every parse); a warm one reads names only, so 100,000 files rank in seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from rudder.agent.repofiles import RepoFiles, repo_files
from rudder.tools.base import Workspace
from rudder.tools.tags import LANGUAGES, Tag, file_tags, parse_source
from rudder.tools.tags_store import Names, TagStore, key, names_of
from rudder.tools.walk import visible_files

TokenCounter = Callable[[str], int]
PARSE_SECONDS = 0.5  # a cold map parses for this long, most relevant files first; the store keeps the rest
GENERIC = 12  # a name defined in more files than this says nothing about which one a call means
RECENCY_WEIGHT = 5.0  # personalisation of a file touched by the newest commit (or being changed now)


def collect(root: Path) -> RepoFiles:
    files = repo_files(root)
    if files is None:  # not a git work tree: the files a walk finds, all read from disk
        ws = Workspace(root)
        files = RepoFiles(blobs=dict.fromkeys(visible_files(ws, ws.root), ""))
    suffixes = set(LANGUAGES)
    files.blobs = {path: blob for path, blob in files.blobs.items() if suffix(path) in suffixes}
    return files


def suffix(path: str) -> str:
    """os.path.splitext(path)[1] for a git path ('/'-separated), at a fraction of its cost (100,000 calls)."""
    dot = path.rfind(".")
    start = path.rfind("/") + 1
    return path[dot:] if dot > start and path[start:dot].strip(".") else ""


def gather_names(
    root: Path, files: RepoFiles, store: TagStore, first: Sequence[str] = (), parse_seconds: float = PARSE_SECONDS
) -> dict[str, Names]:
    """Names of every file the store knows, of the files in `first` and the modified ones, and of as many
    others as can be parsed in `parse_seconds` (recent ones first)."""
    keys = {path: key(suffix(path), blob) for path, blob in files.blobs.items() if blob}
    known = store.names(keys.values())
    out = {path: known[k] for path, k in keys.items() if k in known and path not in files.modified}
    todo = [path for path in files.blobs if path not in out]
    wanted = set(first)
    todo.sort(key=lambda p: (p not in wanted, -files.recency.get(p, 0.0), p.count("/"), p))
    deadline = time.perf_counter() + parse_seconds
    fresh: list[tuple[str, list[Tag]]] = []
    for path in todo:  # the files the task names and those being changed are always read
        if time.perf_counter() > deadline and path not in wanted and path not in files.modified:
            break
        tags = _tags(root, path, files)
        if tags is not None:
            out[path] = names_of(tags)
            if path in keys and path not in files.modified:
                fresh.append((keys[path], tags))
    store.put(fresh)
    return out


def fill_store(root: Path, files: RepoFiles, known: dict[str, Names], store_path: Path) -> threading.Thread:
    """Parse, on a background thread, the tracked files the store does not know yet (the map of this run
    stopped at its time limit; the next run's ranks them all). A daemon: it dies with the process."""
    todo = [(path, blob) for path, blob in files.blobs.items() if blob and path not in known]

    def work() -> None:
        store, batch = TagStore(store_path), []
        try:
            for path, blob in todo:
                tags = _tags(root, path, files)
                if tags is not None:
                    batch.append((key(suffix(path), blob), tags))
                if len(batch) >= 200:
                    store.put(batch)
                    batch = []
            store.put(batch)
        finally:
            store.close()

    thread = threading.Thread(target=work, name="rudder-repo-map-tags", daemon=True)
    thread.start()
    return thread


def _tags(root: Path, path: str, files: RepoFiles) -> list[Tag] | None:
    try:
        if path in files.modified or not files.blobs.get(path):
            return file_tags(root / path, path)  # cached in-process by mtime
        return parse_source((root / path).read_bytes(), suffix(path), path)
    except (OSError, ValueError):
        return None  # unreadable or vanished: the map is a hint, not an inventory


def rank_files(
    names: dict[str, Names],
    focus_files: Sequence[str] = (),
    focus_names: Sequence[str] = (),
    recency: dict[str, float] | None = None,
) -> dict[str, float]:
    files = sorted(names)
    if not files:
        return {}
    index = {f: i for i, f in enumerate(files)}
    # (name id, defining file) pairs, one per distinct pair; (name id, calling file), one per call. Built
    # with C-level loops (map, dict.fromkeys, np.repeat): at 100,000 files these are millions of names
    defined = [names[path].defs for path in files]
    calls = [names[path].refs for path in files]
    def_names = [name for found in defined for name in found]
    ref_names = [name for found in calls for name in found]
    unique = dict.fromkeys(def_names)
    unique.update(dict.fromkeys(ref_names))
    ids = dict(zip(unique, range(len(unique)), strict=True))
    def_name = np.fromiter(map(ids.__getitem__, def_names), np.int64, len(def_names))
    ref_name = np.fromiter(map(ids.__getitem__, ref_names), np.int64, len(ref_names))
    numbers = np.arange(len(files))
    def_file = np.repeat(numbers, np.fromiter(map(len, defined), np.int64, len(files)))
    ref_file = np.repeat(numbers, np.fromiter(map(len, calls), np.int64, len(files)))
    pairs = np.unique(def_file * len(ids) + def_name)  # a name defined twice in one file is one definition
    def_file, def_name = pairs // len(ids), pairs % len(ids)
    focus = {ids[n] for n in focus_names if n in ids}
    sources, targets, weights = _edges(def_name, def_file, ref_name, ref_file, len(ids), focus)
    personal = np.ones(len(files))
    for path, score in (recency or {}).items():
        if path in index:
            personal[index[path]] += RECENCY_WEIGHT * score
    strongest = personal.max()  # what the task names outweighs recency as it outweighs nothing at all
    for path in focus_files:
        if path in index:
            personal[index[path]] += 20.0 * strongest
    for name in focus:
        personal[def_file[def_name == name]] += 10.0 * strongest
    ranks = _pagerank((sources, targets, weights), personal / personal.sum())
    return dict(zip(files, ranks.tolist(), strict=True))


def _edges(
    def_name: np.ndarray, def_file: np.ndarray, ref_name: np.ndarray, ref_file: np.ndarray, n_names: int, focus: set
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source, target, weight): a file calling a name -> each file defining it, weighted by the calls
    (x10 for a name the task mentions); names defined in over GENERIC files make no edges."""
    order = np.argsort(def_name, kind="stable")
    def_name, def_file = def_name[order], def_file[order]
    start = np.searchsorted(def_name, np.arange(n_names))
    count = np.bincount(def_name, minlength=n_names)
    pairs, calls = np.unique(ref_file * n_names + ref_name, return_counts=True)  # (file, name) -> calls
    source, name = pairs // n_names, pairs % n_names
    keep = (count[name] > 0) & (count[name] <= GENERIC)
    source, name, calls = source[keep], name[keep], calls[keep].astype(np.float64)
    if focus:
        calls[np.isin(name, list(focus))] *= 10.0
    fan = count[name]
    sources = np.repeat(source, fan)
    weights = np.repeat(calls, fan)
    offsets = np.arange(fan.sum()) - np.repeat(np.cumsum(fan) - fan, fan)
    targets = def_file[np.repeat(start[name], fan) + offsets]
    own = sources != targets
    return sources[own], targets[own], weights[own]


def _pagerank(
    edges: tuple[np.ndarray, np.ndarray, np.ndarray], personal: np.ndarray, damping: float = 0.85, steps: int = 50
) -> np.ndarray:
    """Power iteration over a sparse edge list (a dense matrix of 100,000 files would not fit in memory)."""
    sources, targets, weights = edges
    n = len(personal)
    out = np.bincount(sources, weights=weights, minlength=n)
    share = weights / np.where(out[sources] > 0, out[sources], 1.0)
    dangling = out == 0
    rank = personal.copy()
    for _ in range(steps):
        flow = np.bincount(targets, weights=rank[sources] * share, minlength=n)
        rank = (1 - damping) * personal + damping * (flow + rank[dangling].sum() * personal)
    return rank


def ranked_definitions(
    root: Path,
    files: RepoFiles,
    names: dict[str, Names],
    ranks: dict[str, float],
    store: TagStore,
    focus_names: Sequence[str],
    enough: int,
) -> list[Tag]:
    """Definitions, best first, of the files defining a focus name and then the best-ranked files, until
    `enough` characters of signatures are gathered (only those files' definitions are loaded)."""
    focus = set(focus_names)
    order = sorted(ranks, key=lambda p: (not focus.intersection(names[p].defs), -ranks[p], p))
    definitions: list[Tag] = []
    size = 0
    for path in order:
        if not names[path].defs:
            continue
        if size > enough and not focus.intersection(names[path].defs):
            break
        file_defs = _definitions(root, path, files, store)
        definitions += file_defs
        size += sum(len(t.signature or t.name) + 10 for t in file_defs) + len(path)
    return sorted(
        definitions, key=lambda t: (-(ranks.get(t.path, 0) + (1.0 if t.name in focus else 0)), t.path, t.line)
    )


def _definitions(root: Path, path: str, files: RepoFiles, store: TagStore) -> list[Tag]:
    blob = files.blobs.get(path, "")
    if blob and path not in files.modified:
        found = store.definitions(key(suffix(path), blob), path)
        if found:
            return found
    return [t for t in _tags(root, path, files) or [] if t.role == "def"]


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
    store: TagStore | None = None,
    parse_seconds: float = PARSE_SECONDS,
    fill_in_background: bool = False,
) -> str:
    """The map. `fill_in_background`: parse what this run had no time for on a daemon thread (the agent's
    session runs for a while; the next map then ranks every file)."""
    counter = count_tokens or (lambda text: len(text) // 4)
    own_store = store is None
    store = store or TagStore()
    try:
        files = collect(root)
        names = gather_names(root, files, store, focus_files, parse_seconds)
        if fill_in_background and len(names) < len(files.blobs):
            fill_store(root, files, names, store.path)
        ranks = rank_files(names, focus_files, focus_names, files.recency)
        enough = 8 * budget_tokens + 1000  # characters: a token is rarely under a quarter of them
        definitions = ranked_definitions(root, files, names, ranks, store, focus_names, enough)
        return fit(definitions, budget_tokens, counter)
    finally:
        if own_store:
            store.close()
