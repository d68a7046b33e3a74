"""Search/replace on text, with the explanations a small model needs when its search text is off.

The search must match exactly once. When it does not, a whitespace-insensitive line match is tried (and
the replacement re-indented to the file); when that fails too, the error shows the most similar region
of the file with line numbers and the first line that differs.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from rudder.tools.base import ToolError

_NUMBERED = re.compile(r"^\s*\d+\| ?")  # the prefix read_file puts on lines, often copied by mistake
_MAX_WINDOWS = 20_000  # windows compared for "nearest candidate"; beyond that the file is sampled
_SHOW_LINE = 120


@dataclass(frozen=True)
class Edit:
    text: str  # the whole new file
    first_line: int  # 1-based range of the replacement in the new text
    last_line: int
    note: str = ""  # how the match was found, when it was not exact


def apply_edit(text: str, search: str, replace: str, *, where: str) -> Edit:
    """Replace the single occurrence of `search` in `text`; ToolError explains a missing or repeated match."""
    if not search.strip():
        raise ToolError(f"{where}: search is empty (to create or overwrite a file use write_file)")
    if search == replace:
        raise ToolError(f"{where}: search and replace are identical; nothing to change")
    crlf = "\r\n" in text
    for variant, note in _variants(search, replace):
        find, put = (_to_crlf(s) for s in variant) if crlf else variant
        edit = _exact(text, find, put, where) or _loose(text, find, put, where, crlf)
        if edit is not None:
            return Edit(edit.text, edit.first_line, edit.last_line, "; ".join(n for n in (note, edit.note) if n))
    raise ToolError(_no_match(text, search, where))


def _variants(search: str, replace: str) -> list[tuple[tuple[str, str], str]]:
    out = [((search, replace), "")]
    if _numbered(search):
        new_replace = _unnumber(replace) if _numbered(replace) else replace
        out.append(((_unnumber(search), new_replace), "line-number prefixes removed from search"))
    return out


def _numbered(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and all(_NUMBERED.match(line) for line in lines)


def _unnumber(text: str) -> str:
    return "".join(_NUMBERED.sub("", line, count=1) for line in text.splitlines(keepends=True))


def _to_crlf(s: str) -> str:
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


def _exact(text: str, search: str, replace: str, where: str) -> Edit | None:
    count = text.count(search)
    if count == 0:
        return None
    if count > 1:
        lines = _match_lines(text, search)
        raise ToolError(
            f"{where}: search text matches {count} places (lines {_list(lines)}); "
            "include more surrounding lines so it matches exactly one"
        )
    start = text.index(search)
    first = text.count("\n", 0, start) + 1
    return Edit(text[:start] + replace + text[start + len(search) :], first, first + _span(replace))


def _loose(text: str, search: str, replace: str, where: str, crlf: bool) -> Edit | None:
    lines = text.splitlines(keepends=True)
    search_lines = _trim_blank(search.splitlines())
    wanted = [_norm(line) for line in search_lines]
    if not wanted:
        return None
    k = len(wanted)
    normed = [_norm(line) for line in lines]
    hits = [i for i in range(len(lines) - k + 1) if normed[i : i + k] == wanted]
    if not hits:
        return None
    if len(hits) > 1:
        raise ToolError(
            f"{where}: search text matches {len(hits)} places when whitespace is ignored "
            f"(lines {_list([h + 1 for h in hits])}); include more surrounding lines so it matches exactly one"
        )
    i = hits[0]
    body = _reindent(replace, search_lines, lines[i : i + k])
    newline = "\r\n" if crlf else "\n"
    if body and not body.endswith(("\n", "\r\n")) and lines[i + k - 1].endswith("\n"):
        body += newline
    new_text = "".join(lines[:i]) + body + "".join(lines[i + k :])
    note = f"matched ignoring whitespace at lines {i + 1}-{i + k}"
    return Edit(new_text, i + 1, i + 1 + _span(body), note)


def _norm(line: str) -> str:
    return " ".join(line.split())


def _trim_blank(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _reindent(replace: str, search_lines: list[str], file_lines: list[str]) -> str:
    """Whole-line replacement body, each line moved by the indentation difference between the search line
    at the same position (or the last one) and the file line it matched."""
    body = replace.strip("\r\n")
    if not body.strip():
        return ""
    deltas: list[tuple[str, str] | None] = []
    last = None
    for want, have in zip(search_lines, file_lines, strict=False):
        if want.strip():  # blank lines say nothing about indentation
            last = (_indent(want), _indent(have))
        deltas.append(last)
    first = next((d for d in deltas if d), ("", ""))
    filled = [d or first for d in deltas]
    out = []
    for n, line in enumerate(body.splitlines(keepends=True)):
        old, new = filled[min(n, len(filled) - 1)]
        out.append(new + line[len(old) :] if line.strip() and line.startswith(old) else line)
    return "".join(out)


def _span(replacement: str) -> int:
    """How many lines after the first one the replacement covers."""
    return max(replacement.rstrip("\n").count("\n"), 0)


def _match_lines(text: str, search: str) -> list[int]:
    out, start = [], 0
    while (idx := text.find(search, start)) != -1:
        out.append(text.count("\n", 0, idx) + 1)
        start = idx + len(search)
    return out


def _list(numbers: list[int], limit: int = 8) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f", ... ({len(numbers) - limit} more)" if len(numbers) > limit else "")


def _no_match(text: str, search: str, where: str) -> str:
    lines = text.splitlines()
    wanted = search.strip("\n").splitlines() or [search]
    candidates = nearest_regions(lines, wanted)
    if not candidates:
        return f"{where}: search text not found, and nothing similar either; read_file {where} to see its content"
    parts = [f"{where}: search text not found exactly. Most similar region(s):"]
    for start, ratio in candidates:
        region = lines[start : start + len(wanted)]
        parts.append(f"lines {start + 1}-{start + len(region)} ({ratio:.0%} similar):")
        parts.extend(f"{start + j + 1}| {_cut(line)}" for j, line in enumerate(region))
        diff = _first_difference(region, wanted, start)
        if diff:
            parts.append(diff)
    parts.append("Copy the exact text from the file into search (without the line numbers).")
    return "\n".join(parts)


def nearest_regions(lines: list[str], wanted: list[str], top: int = 2) -> list[tuple[int, float]]:
    """Starts (0-based) of the windows of `lines` most similar to `wanted`, best first, ratio >= 0.5."""
    k = len(wanted)
    target = "\n".join(wanted)
    starts = range(max(len(lines) - k + 1, 1))
    step = max(len(starts) // _MAX_WINDOWS, 1)
    scored = []
    for i in starts[::step]:
        matcher = difflib.SequenceMatcher(None, "\n".join(lines[i : i + k]), target, autojunk=False)
        if matcher.real_quick_ratio() >= 0.5 and matcher.quick_ratio() >= 0.5:
            scored.append((matcher, i))
    scored.sort(key=lambda pair: pair[0].quick_ratio(), reverse=True)
    exact = sorted(((m.ratio(), i) for m, i in scored[:30]), reverse=True)
    chosen: list[tuple[int, float]] = []
    for ratio, i in exact:
        if ratio >= 0.5 and all(abs(i - j) >= k for j, _ in chosen):
            chosen.append((i, ratio))
        if len(chosen) == top:
            break
    return chosen


def _first_difference(region: list[str], wanted: list[str], start: int) -> str:
    for j, (have, want) in enumerate(zip(region, wanted, strict=False)):
        if have != want:
            return f"first difference at line {start + j + 1}: file has {_cut(have)!r}, search has {_cut(want)!r}"
    if len(region) != len(wanted):
        return f"search has {len(wanted)} lines, this region {len(region)}"
    return ""


def _cut(line: str) -> str:
    return line if len(line) <= _SHOW_LINE else line[:_SHOW_LINE] + "..."
