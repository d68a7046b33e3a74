"""A JSON call's thought reaches readers as words: CallStream on token streams cut the ways models cut them."""

from __future__ import annotations

from rudder.agent.protocols.callstream import CallStream, decode_partial_string, split_call
from rudder.interfaces import Phase

CALL = '{"thought": "To change PORT from 80 to 8080, I use \\"edit_file\\".", "tool": "edit_file", "path": "a.py"}'


def _replay(tokens: list[str]) -> tuple[str, str]:
    """Feed tokens one at a time; what a reader ends up with in each phase (erases applied)."""
    stream, raw = CallStream(), ""
    shown = {Phase.THOUGHT: "", Phase.TOOL_CALL: ""}
    for token in tokens:
        raw += token
        for phase, text, erase in stream.feed(raw):
            shown[phase] = shown[phase][: len(shown[phase]) - erase] + text
    return shown[Phase.THOUGHT], shown[Phase.TOOL_CALL]


def test_the_thought_streams_without_its_json_framing_however_tokens_are_cut() -> None:
    expected_thought = 'To change PORT from 80 to 8080, I use "edit_file".'
    expected_call = '{"tool": "edit_file", "path": "a.py"}'
    by_char = list(CALL)
    # the cuts the issue saw: framing and words in one token ('{"', ' "To', '.",')
    by_model = ['{"', "thought", '":', ' "To', " change", " PORT", " from 80 to 8080, I use", ' \\"', "edit"]
    by_model += ["_file\\", '".",', ' "tool', '": "edit_file", "path": "a.py"}']
    for tokens in (by_char, by_model, [CALL]):
        assert "".join(tokens) == CALL
        assert _replay(tokens) == (expected_thought, expected_call)


def test_partial_strings_decode_escapes_only_when_complete() -> None:
    assert decode_partial_string('a\\u00e9b"rest', 0) == ("aéb", 9)
    assert decode_partial_string("a\\u00", 0) == ("a", None)  # the escape is not complete yet
    assert decode_partial_string("a\\", 0) == ("a", None)
    assert decode_partial_string('line\\nnext"', 0) == ("line\nnext", 11)


def test_a_call_without_a_thought_is_all_call_and_framing_alone_shows_nothing() -> None:
    assert split_call('{"tool": "finish", "answer": "x"}') == ("", '{"tool": "finish", "answer": "x"}')
    assert split_call('{"tho') == ("", "")
    assert split_call('{"thought": "half') == ("half", "")
