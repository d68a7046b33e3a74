"""The capture hook's recorder: what it keeps of a batched decode, and what it refuses (no model needed)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rudder.engine.batch import BatchLayout, PrefixTrie
from rudder.vectors.extraction.capture import _Recorder
from rudder.vectors.vector import VectorError

N_EMBD = 4


def _recorder_for(prompts: list[list[int]]) -> tuple[_Recorder, BatchLayout]:
    trie = PrefixTrie()
    for tokens in prompts:
        trie.add(tokens)
    recorder = _Recorder(0, 1, "last", lambda rows: rows)
    recorder.layout = layout = BatchLayout.of(trie)
    return recorder, layout


def test_a_batched_decode_gives_each_prompt_its_last_row() -> None:
    recorder, layout = _recorder_for([[1, 2, 3], [1, 2, 4]])
    rows = np.arange(layout.n_tokens * N_EMBD, dtype=np.float32).reshape(layout.n_tokens, N_EMBD)
    recorder(0, rows)
    (per_layer,) = recorder.take(2)
    assert [row.tolist() for row in per_layer] == [rows[2].tolist(), rows[3].tolist()]


def test_rows_from_a_decode_on_another_thread_are_not_recorded() -> None:
    recorder, layout = _recorder_for([[1, 2, 3], [1, 2, 4]])
    rows = np.ones((layout.n_tokens, N_EMBD), dtype=np.float32)
    other = threading.Thread(target=recorder, args=(0, rows * 7))
    other.start()
    other.join()
    recorder(0, rows)
    (per_layer,) = recorder.take(2)
    assert all((row == 1).all() for row in per_layer)


def test_a_layer_seen_twice_in_one_batched_decode_is_one_clear_error() -> None:
    recorder, layout = _recorder_for([[1, 2, 3], [1, 2, 4]])
    rows = np.ones((layout.n_tokens, N_EMBD), dtype=np.float32)
    recorder(0, rows)
    recorder(0, rows)
    with pytest.raises(VectorError, match="2 times in one batched decode"):
        recorder.take(2)


def test_calls_for_entries_that_are_not_this_captures_are_not_recorded() -> None:
    recorder, layout = _recorder_for([[1, 2, 3], [1, 2, 4]])
    recorder.offset = 1  # one steering entry ahead of the capture's
    rows = np.ones((layout.n_tokens, N_EMBD), dtype=np.float32)
    recorder(0, rows * 7)  # a capture entry left in the table ahead of this capture's (index - offset = -1)
    recorder(1, rows)
    (per_layer,) = recorder.take(2)
    assert all((row == 1).all() for row in per_layer)


@pytest.mark.slow
def test_a_meter_probe_in_the_hooks_table_is_not_recorded_twice_and_stays(engine) -> None:
    """CI failed this way (2026-12-07): a steerer's concept-meter probe on a node the capture also reads
    reached the capture's recorder, which saw that layer twice in one batched decode."""
    from rudder.engine.hook import HookEntry, HookOp
    from rudder.vectors.extraction.capture import capture

    probe = HookEntry("l_out-12", HookOp.CAPTURE)
    engine.hook.set_entries([probe])
    try:
        result = capture(engine, ["Hello there.", "Hello again, friend."], [10, 12])
        assert result.data[12].shape == (2, engine.info.n_embd)
        assert list(engine.hook.entries) == [probe]  # the probe is back for its owner
    finally:
        engine.hook.set_entries([])
