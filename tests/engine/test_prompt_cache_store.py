"""The prompt cache's disk store and the steering ledger, without the model."""

from __future__ import annotations

import logging
import multiprocessing
import os
from pathlib import Path

import numpy as np

from rudder.engine.hook import HookEntry, HookOp, HookScope, steering_digest
from rudder.engine.prefill import SteeringLedger
from rudder.engine.prompt_cache import MIN_TOKENS, PromptCache, read_header

TOKENS = list(range(1, 101))


def store(tmp_path: Path, limit: int = 1 << 30) -> PromptCache:
    return PromptCache(tmp_path / "prompts", "ctx0", limit)


def test_an_entry_round_trips_and_is_found_by_its_longest_common_prefix(tmp_path: Path) -> None:
    cache = store(tmp_path)
    cache.save("s1", TOKENS[:60], b"state-60")
    cache.save("s1", TOKENS[:80], b"state-80")
    entry, common = cache.find("s1", [*TOKENS[:70], 999, 1000])
    assert (entry.tokens, common) == (tuple(TOKENS[:80]), 70)
    assert cache.load(entry) == b"state-80"
    assert cache.find("s1", [5, 6, 7, *TOKENS]) is None  # no common start
    assert cache.find("s1", TOKENS, longer_than=80) is None  # nothing beats what is cached in-process
    assert cache.find("s1", TOKENS[: MIN_TOKENS - 1]) is None  # too short to be worth a restore


def test_of_entries_sharing_as_much_the_shortest_is_found(tmp_path: Path) -> None:
    cache = store(tmp_path)
    cache.save("s1", TOKENS, b"state-100")  # the system prompt and the worked example
    cache.save("s1", TOKENS[:60], b"state-60")  # the system prompt alone (the example was dropped)
    entry, common = cache.find("s1", [*TOKENS[:60], 999])
    assert (entry.tokens, common) == (tuple(TOKENS[:60]), 60)  # nothing to drop after loading it


def test_other_steering_or_another_context_never_matches(tmp_path: Path) -> None:
    cache = store(tmp_path)
    cache.save("s1", TOKENS, b"state")
    assert cache.find("s2", TOKENS) is None
    assert cache.find("", TOKENS) is None
    assert PromptCache(cache.directory, "ctx1", 1 << 30).find("s1", TOKENS) is None


def test_a_corrupt_or_truncated_entry_is_ignored_with_a_debug_log(tmp_path: Path, caplog) -> None:
    cache = store(tmp_path)
    path = cache.save("s1", TOKENS, b"x" * 1000)
    assert path is not None
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.DEBUG, logger="rudder.engine.prompt_cache"):
        assert cache.load(cache.find("s1", TOKENS)[0]) is None
        path.write_bytes(bytes(data[:-100]))
        assert cache.load(cache.find("s1", TOKENS)[0]) is None
        path.write_bytes(b"garbage")
        assert cache.find("s1", TOKENS) is None
    assert "corrupt" in caplog.text and "bad header" in caplog.text


def test_a_vanished_entry_is_a_miss(tmp_path: Path) -> None:
    cache = store(tmp_path)
    path = cache.save("s1", TOKENS, b"state")
    entry = cache.find("s1", TOKENS)[0]
    path.unlink()
    assert cache.load(entry) is None
    assert read_header(path) is None


def test_the_least_recently_used_entries_go_first(tmp_path: Path) -> None:
    cache = store(tmp_path)
    paths = [cache.save("s1", [*TOKENS, n], bytes(1500)) for n in range(3)]
    cache.limit_bytes = sum(p.stat().st_size for p in paths) + 100  # room for three
    for age, path in enumerate(paths):  # oldest first: 0, then 1, then 2
        os.utime(path, (1000 + age, 1000 + age))
    cache.load(cache.find("s1", [*TOKENS, 0])[0])  # a hit makes entry 0 the newest
    cache.save("s1", [*TOKENS, 3], bytes(1500))
    left = {read_header(p).tokens[-1] for p in cache.directory.glob("*.kv")}
    assert left == {0, 2, 3}


def _writer(directory: str, worker: int) -> None:
    cache = PromptCache(Path(directory), "ctx0", 1 << 30)
    for round_ in range(30):
        cache.save("s1", TOKENS, bytes([worker]) * 50_000)  # the same entry, racing
        cache.save("s1", [*TOKENS, worker, round_ % 3], bytes([worker]) * 20_000)


def test_two_concurrent_writers_leave_a_valid_cache(tmp_path: Path) -> None:
    directory = tmp_path / "prompts"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_writer, args=(str(directory), w)) for w in (1, 2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    cache = PromptCache(directory, "ctx0", 1 << 30)
    entries = cache.entries("s1")
    assert len(entries) == 1 + 2 * 3 and not list(directory.glob(".tmp-*"))
    for entry in entries:
        blob = cache.load(entry)
        assert blob is not None and len(set(blob)) == 1  # one writer's whole state, never a mix


def test_the_ledger_tracks_runs_of_steering() -> None:
    ledger = SteeringLedger()
    ledger.extend(10, "a")
    ledger.extend(15, "a")
    ledger.extend(20, "b")
    assert ledger.runs == [(15, "a"), (20, "b")]
    assert ledger.uniform(15) == "a" and ledger.uniform(16) is None and ledger.uniform(25) is None
    assert ledger.first_other("a") == 15 and ledger.first_other("b") == 0
    ledger.truncate(17)
    assert ledger.runs == [(15, "a"), (17, "b")]
    ledger.truncate(12)
    assert ledger.runs == [(12, "a")]
    ledger.truncate(0)
    assert ledger.runs == [] and ledger.first_other("a") == 0


def test_the_steering_digest_counts_only_what_changes_the_rows() -> None:
    d = np.ones(8, np.float32)
    add = HookEntry("l_out-3", HookOp.ADD, d, 0.5)
    assert steering_digest([], generating=False) == ""
    assert steering_digest([HookEntry("l_out-3", HookOp.CAPTURE)], generating=False) == ""
    generated_only = HookEntry("l_out-3", HookOp.ADD, d, 0.5, HookScope.GENERATED)
    assert steering_digest([generated_only], generating=False) == ""
    assert steering_digest([generated_only], generating=True) != ""
    assert steering_digest([add], generating=False) != steering_digest(
        [HookEntry("l_out-3", HookOp.ADD, d, 0.25)], generating=False
    )
    assert steering_digest([add], generating=False) != steering_digest(
        [HookEntry("l_out-3", HookOp.ADD, d * 2, 0.5)], generating=False
    )
