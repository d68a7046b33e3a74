"""Where a JSON tool call's thought starts and where the call after it starts (the recorded positions)."""

from __future__ import annotations

from rudder.agent.protocols.json_calls import JsonProtocol
from rudder.tools.toolbox import all_tools


def test_thought_bounds_follow_the_text_as_it_grows() -> None:
    protocol = JsonProtocol(all_tools(), with_thought=True)
    full = '{"thought": "read it \\" first", "tool": "read_file", "path": "a.py"}'
    opening = full.index('"read') + 1
    closing = full.index('", "tool"')
    assert protocol.thought_bounds('{"thou') == (None, None)
    assert protocol.thought_bounds('{"thought": ') == (None, None)
    assert protocol.thought_bounds(full[:opening]) == (opening, None)
    assert protocol.thought_bounds(full[: closing - 3]) == (opening, None)  # the escaped quote does not close it
    assert protocol.thought_bounds(full) == (opening, closing + 1)
    assert JsonProtocol(all_tools(), with_thought=False).thought_bounds("{") == (None, 0)
