"""Constraints the grammar cannot say, applied while a JSON tool call is written (an engine TokenFilter).

A small model asked to change `FRUITS = ['apple', 'banana']` searched for `'banana', 'pear']`, text the
file does not contain, and then looped on the error. While it writes

- the `path` of read_file or edit_file, the path must stay the start of a file that exists in the repo;
- the `search` of edit_file, the text must stay a piece of that file as it is now,

so the likely tokens that would leave the file are vetoed and the model's next choice is taken. Only the
most likely tokens are asked (engine/sampling.py); when all of them leave the file the model keeps its
choice and the tool reports the error as before.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from dataclasses import dataclass, field

from rudder.agent.discipline import PATH_WORD
from rudder.agent.filelist import FileList
from rudder.agent.filelist import escaped as _escaped
from rudder.tools.base import ToolError, Workspace
from rudder.tools.walk import visible_files

_STRING = re.compile(r'"((?:[^"\\]|\\.)*)(")?', re.S)
_TOOL = re.compile(r'"tool"\s*:\s*"(\w+)"')
_PATH = re.compile(r'"path"\s*:\s*"((?:[^"\\]|\\.)*)"')
_SENTENCE_END = re.compile(r"[.!?] ")
_PATHLIKE = re.compile(PATH_WORD)
PATH_TOOLS = ("read_file", "edit_file")
COPY_KEYS = ("search", "replace", "content", "answer")  # not "command": "delete" is a word, not rm
COPY_BONUS, COPY_MIN = 2.5, 3
VETO = -math.inf
FINISH = "finish"


def open_string_value(text: str) -> tuple[str, str] | None:
    """(key, raw JSON text of the value so far) when `text` ends inside a string value, else None."""
    key = None
    for match in _STRING.finditer(text):
        if match.group(2) is None:  # the string still open at the end
            before = text[: match.start()].rstrip()
            return (key, text[match.start() + 1 :]) if before.endswith(":") and key else None
        if text[match.end() :].lstrip().startswith(":"):
            key = match.group(1)
    return None


def _value_of(text: str, key: str) -> str | None:
    """The raw value of a closed string field `key` in a partial call."""
    match = re.search(rf'"{key}"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
    return match.group(1) if match else None


def _has(ordered: list[str], item: str) -> bool:
    i = bisect.bisect_left(ordered, item)
    return i < len(ordered) and ordered[i] == item


def _has_prefix(ordered: list[str], prefix: str) -> bool:
    """Whether a sorted list holds a string starting with `prefix` (a repo can list many files)."""
    i = bisect.bisect_left(ordered, prefix)
    return i < len(ordered) and ordered[i].startswith(prefix)


def _closing_quote(piece: str) -> int:
    """Index of the first unescaped quote in a token's text (-1: none). A piece starting a string value
    never starts with a backslash that escapes into the value before it, so a local scan is enough."""
    i = 0
    while i < len(piece):
        if piece[i] == "\\":
            i += 2
            continue
        if piece[i] == '"':
            return i
        i += 1
    return -1


@dataclass
class CallConstraints:
    """The TokenFilter for one tool call; built per step (the repo changes between steps).

    Rules for small models, each from a failure seen on SmolLM2-135M:
    - `thought_start`: the thought begins so ("To ...": it restates the goal instead of copying the last
      example's "Done"); `one_sentence` ends it at the first sentence (thoughts ran on into loops);
    - `no_finish`: the call is not finish (a turn's first call: it thought "To fix the bug, I add a
      colon" and called finish);
    - with a `task`, the tool the thought names gets twice the `COPY_BONUS` (it thought "Done: the line
      is added, so I finish." and appended the line again);
    - `foreign_prefix`: the worked examples' paths are not this repo's, in paths and thoughts (it wrote
      example_notes.txt);
    - `task`: text copied from the task gets a `COPY_BONUS` (it replaced morning with "night" when asked
      for evening, and wrote LIMIT from the example instead of MAX_RETRIES); new text copied from the
      call's own thought gets it twice (it thought "the port is 8042" and wrote False from the file);
      files the task names that do not exist yet get it as write_file paths, and existing files not
      `read` in this run are vetoed there (it wrote its answer over settings.py, not into answer.txt).
    """

    ws: Workspace
    thought_start: str = ""
    one_sentence: bool = False
    no_finish: bool = False
    foreign_prefix: str = ""
    task: str = ""
    read: set[str] = field(default_factory=set)  # files the run has read (relative paths, JSON-escaped)
    file_list: FileList | None = None  # the session's, kept up to date between steps (else listed here)
    _files: list[str] | None = field(default=None, init=False)
    _contents: dict[str, str | None] = field(default_factory=dict, init=False)
    new_paths: list[str] = field(default_factory=list, init=False)  # files the task names that do not exist
    _last: tuple[str, tuple[str, str, str] | None] | None = field(default=None, init=False)
    _source_text: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        named = {_escaped(m.group(0)) for m in _PATHLIKE.finditer(self.task)}
        self.new_paths = sorted(p for p in named if p not in self.files())

    def files(self) -> list[str]:
        if self._files is None and self.file_list is not None:
            self._files = self.file_list.files()
        if self._files is None:
            try:
                self._files = sorted(_escaped(f) for f in visible_files(self.ws, self.ws.root))
            except (OSError, ToolError):
                self._files = []
        return self._files

    def content(self, raw_path: str) -> str | None:
        if raw_path not in self._contents:
            text = None
            try:
                path = self.ws.resolve(json.loads(f'"{raw_path}"'))
                if path.is_file():
                    text = _escaped(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError, ToolError):
                text = None
            self._contents[raw_path] = text
        return self._contents[raw_path]

    def _target(self, text: str) -> tuple[str, str, str] | None:
        """(tool, key, value so far) when the model is writing a string value a rule applies to (asked
        once per candidate token with the same text: the last answer is kept)."""
        if self._last is not None and self._last[0] == text:
            return self._last[1]
        target = self._find_target(text)
        self._last = (text, target)
        return target

    def _find_target(self, text: str) -> tuple[str, str, str] | None:
        state = open_string_value(text)
        if state is None:
            return None
        key, value = state
        if key == "thought":
            watched = self.one_sentence or self.foreign_prefix or len(value) < len(self.thought_start)
            return ("", key, value) if watched else None
        tool_match = _TOOL.search(text)
        tool = tool_match.group(1) if tool_match else ""
        if key == "tool":
            return (tool, key, value) if self.no_finish or self.task else None
        if key == "path" and (tool in PATH_TOOLS or self.foreign_prefix or self.task):
            return tool, key, value
        if key in ("search", "replace") and tool == "edit_file":
            return tool, key, value
        if key in COPY_KEYS and self.task:
            return tool, key, value
        return None

    def active(self, text: str) -> bool:
        return self._target(text) is not None

    def adjust(self, text: str, piece: str) -> float:
        target = self._target(text)
        if target is None:
            return 0.0
        tool, key, value = target
        close = _closing_quote(piece)
        grown = value + (piece if close == -1 else piece[:close])
        if key == "thought":
            return VETO if self._bad_thought(value, grown, closed=close != -1) else 0.0
        if key == "tool":
            if self.no_finish and FINISH.startswith(grown) and close == -1 and grown:
                return VETO
            return 2 * COPY_BONUS if self._names_tool(text, grown) else 0.0
        closed = close != -1
        part = piece if not closed else piece[:close]
        if key == "path":
            if self._bad_path(tool, grown, closed=closed):
                return VETO
            return self._new_path(grown, closed=closed) if tool == "write_file" and self.task else 0.0
        if key == "search" and self._bad_search(text, grown, closed=closed):
            return VETO
        if key == "replace" and closed and grown == _value_of(text, "search"):
            return VETO  # a replace equal to its search changes nothing (the tool refuses it)
        if not self.task:
            return 0.0
        if key in ("search", "replace"):
            return COPY_BONUS if self._copies(self.task, value, part) else 0.0
        thought = _value_of(text, "thought") or ""
        bonus = COPY_BONUS if self._copies(self._sources(), value, part) else 0.0
        return bonus + (COPY_BONUS if self._copies(thought, value, part) else 0.0)  # write what it said

    def _sources(self) -> str:
        """What new text is copied from: the task, and the files it names (e.g. an answer about one)."""
        if self._source_text is None:
            named = (self.content(_escaped(p)) for p in _PATHLIKE.findall(self.task))
            self._source_text = "\n".join([_escaped(self.task), *(t for t in named if t)])
        return self._source_text

    def fallback(self, text: str) -> str | None:
        """A thought past its first sentence ends with its closing quote."""
        target = self._target(text)
        return '"' if target is not None and target[1] == "thought" and self.one_sentence else None

    def _bad_thought(self, value: str, grown: str, *, closed: bool) -> bool:
        foreign = self.foreign_prefix
        if foreign and foreign in grown and foreign not in value:
            return True  # a thought about the examples' files led to writing them
        start = self.thought_start
        if len(grown) < len(start) or not grown.startswith(start):
            return closed or not start.startswith(grown)
        return self.one_sentence and _SENTENCE_END.search(grown, len(start)) is not None

    def _bad_path(self, tool: str, grown: str, *, closed: bool) -> bool:
        files = self.files()
        if tool in PATH_TOOLS and files:
            return not _has(files, grown) if closed else not _has_prefix(files, grown)
        foreign = self.foreign_prefix
        if foreign and len(grown) >= 4 and (foreign.startswith(grown) or grown.startswith(foreign)):
            return not _has_prefix(files, grown)
        return False

    def _bad_search(self, text: str, grown: str, *, closed: bool) -> bool:
        path = _PATH.search(text)
        content = self.content(path.group(1)) if path else None
        if content is None:
            return False  # an unknown file: the tool will say so
        if closed:  # the tool needs exactly one match: an empty or repeated search is refused
            return content.count(grown) != 1 if grown else True
        return grown not in content

    def _names_tool(self, text: str, grown: str) -> bool:
        """Whether the call's thought names the tool being written ("... so I finish" -> finish)."""
        if len(grown) < 2 or not self.task:
            return False
        thought = _value_of(text, "thought") or ""
        named = (w for w in re.findall(r"[a-z_]{2,}", thought) if "_" in w or w == FINISH)  # tool-like words
        return any(word.startswith(grown) for word in named)

    @staticmethod
    def _copies(sources: str, value: str, part: str) -> bool:
        """Whether the token continues text of `sources` (one character of context: ", pear" must not pass
        for the task's "'pear'")."""
        if len(part.strip()) < COPY_MIN:
            return False
        return (value[-1:] + part) in sources

    def _new_path(self, grown: str, *, closed: bool) -> float:
        """write_file paths: files the task names that do not exist yet get the copy bonus; an existing
        file the run has not read is vetoed at its closing quote (the harness would refuse the write)."""
        if closed:
            return VETO if grown in self.unread_files() else 0.0
        return 2 * COPY_BONUS if any(p.startswith(grown) for p in self.new_paths) else 0.0

    def unread_files(self) -> set[str]:
        return set(self.files()) - self.read
