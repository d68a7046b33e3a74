"""What a reader sees of a JSON tool call while the model writes it: the thought's words, then the call.

The model writes `{"thought": "To change PORT ...", "tool": "edit_file", ...}` token by token, and a token
can hold framing and words at once (`{"`, `."`, `",`). Front ends show the thought as prose (ACP's
agent_thought_chunk, the TUI's Markdown), so they must get its decoded words only, never the JSON around
them. `CallStream` re-cuts the raw token stream into THOUGHT text (the decoded "thought" value) and
TOOL_CALL text (the call after the thought), each as a delta with the characters to take back first.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass

from rudder.interfaces import Phase

_THOUGHT_KEY = re.compile(r'^\s*\{\s*"thought"\s*:\s*"')
_OPENING = '{"thought":"'
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def decode_partial_string(text: str, start: int) -> tuple[str, int | None]:
    """The value of the JSON string whose body starts at `text[start]` (just after its opening quote), as
    far as it is written: (decoded words, index just past the closing quote or None while still open).
    An escape cut off at the end is left out until it is complete."""
    out: list[str] = []
    i = start
    while i < len(text):
        char = text[i]
        if char == '"':
            return "".join(out), i + 1
        if char != "\\":
            out.append(char)
            i += 1
            continue
        if i + 1 >= len(text):
            break
        code = text[i + 1]
        if code == "u":
            digits = text[i + 2 : i + 6]
            if len(digits) < 4:
                break
            with contextlib.suppress(json.JSONDecodeError, UnicodeDecodeError):  # a lone surrogate: nothing
                out.append(json.loads(f'"\\u{digits}"'))
            i += 6
            continue
        out.append(_ESCAPES.get(code, code))
        i += 2
    return "".join(out), None


def split_call(raw: str) -> tuple[str, str]:
    """(the thought's words so far, the call text after the thought) for a JSON call being written.

    A call that does not open with a "thought" key is all call text; while the key itself is being
    written neither part has anything to show yet."""
    match = _THOUGHT_KEY.match(raw)
    if match is None:
        if _OPENING.startswith(re.sub(r"\s", "", raw)):
            return "", ""  # the framing is still being written
        return "", raw
    thought, end = decode_partial_string(raw, match.end())
    if end is None:
        return thought, ""
    rest = raw[end:].lstrip()
    return thought, "{" + rest.removeprefix(",").lstrip() if rest else ""


@dataclass
class CallStream:
    """Re-cuts one step's raw tokens into (phase, text, erase) pieces: THOUGHT for the thought's words,
    TOOL_CALL for the rest of the call."""

    thought: str = ""
    call: str = ""

    def feed(self, raw: str) -> list[tuple[Phase, str, int]]:
        """`raw`: the whole call written so far. The pieces that bring the reader up to date (none when the
        new token was framing only)."""
        thought, call = split_call(raw)
        pieces = []
        for phase, old, new in ((Phase.THOUGHT, self.thought, thought), (Phase.TOOL_CALL, self.call, call)):
            if new == old:
                continue
            common = _common_prefix(old, new)
            pieces.append((phase, new[common:], len(old) - common))
        self.thought, self.call = thought, call
        return pieces


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
