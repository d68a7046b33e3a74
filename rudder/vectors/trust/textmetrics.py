"""Text measures for vector health and calibration: the target effects a recipe can name, and damage.

Plain functions of strings (no model), so they are tested and reused by check, calibrate and the benches.
    target metrics   words, checking, code_first, steps   (one float per answer; a recipe names one)
    damage           repetition_rate, has_loop, coherent, on_topic
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_']*")
_STOP = frozenset(
    [
        "what",
        "which",
        "when",
        "where",
        "does",
        "with",
        "that",
        "this",
        "from",
        "your",
        "have",
        "how",
        "why",
        "would",
        "should",
        "could",
        "about",
        "into",
        "there",
        "their",
        "they",
        "them",
        "then",
        "than",
        "make",
        "made",
        "just",
        "some",
        "more",
        "most",
        "also",
        "only",
        "very",
        "much",
        "many",
        "each",
        "other",
        "such",
    ]
)
_CHECKING = re.compile(
    r"\b(test|tests|testing|check|checks|checking|verify|verified|read|reading|inspect|confirm|make sure|ensure|"
    r"before|review|run the)\b",
    re.I,
)
_CODE_LINE = re.compile(r"^\s*(```|def |class |import |from \S+ import|return |if .*:|for .*:|[\w.]+\(.*\)\s*$|\$ )")
_STEP_LINE = re.compile(r"^\s*(\d+[.)]|[-*] |step \d+)", re.I)


def words(text: str) -> float:
    return float(len(text.split()))


def checking(text: str) -> float:
    """Mentions of reading/checking/testing per 100 words (careful answers check before they claim)."""
    n = max(1.0, words(text))
    return 100.0 * len(_CHECKING.findall(text)) / n


def code_first(text: str) -> float:
    """1 when code comes before any prose sentence, else how early the first code line is (0 = none)."""
    lines = [line for line in text.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if _CODE_LINE.match(line):
            return 1.0 / (1 + index)
    return 0.0


def steps(text: str) -> float:
    """Share of the answer's lines that are numbered or bulleted steps."""
    lines = [line for line in text.splitlines() if line.strip()]
    return sum(bool(_STEP_LINE.match(line)) for line in lines) / len(lines) if lines else 0.0


METRICS: dict[str, Callable[[str], float]] = {
    "words": words,
    "checking": checking,
    "code_first": code_first,
    "steps": steps,
}


def metric(name: str) -> Callable[[str], float]:
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; expected one of {', '.join(METRICS)}") from None


# -- damage -----------------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def repetition_rate(text: str, n: int = 4) -> float:
    """Share of word n-grams that repeat an earlier one (0 = none; a loop drives it towards 1)."""
    toks = _tokens(text)
    grams = [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]
    if not grams:
        return 0.0
    return 1.0 - len(set(grams)) / len(grams)


_STUTTER = re.compile(r"(.{6,60}?)\1{2,}", re.S)  # a piece of 6-60 characters three times in a row


def _stutters(text: str) -> bool:
    """A wordy piece repeated back to back inside the text, where word n-grams do not see it: an identifier
    that runs on (`DEBUG_SIGNED_ABSOLUTE_SIGNED_ABSOLUTE_SIGNED_ABSOLUTE`). Pieces without 3 letters (a
    Markdown table rule, a row of dashes) do not count."""
    return any(sum(c.isalpha() for c in m.group(1)) >= 3 for m in _STUTTER.finditer(text))


def has_loop(text: str) -> bool:
    """A phrase of 5+ words said three times, a run of one character, a wordy piece stuttered three times in
    a row, or mostly repeated 4-grams."""
    toks = _tokens(text)
    grams = Counter(tuple(toks[i : i + 5]) for i in range(len(toks) - 4))
    if grams and grams.most_common(1)[0][1] >= 3:
        return True
    if re.search(r"(.)\1{11,}", text.replace(" ", "")) or _stutters(text):
        return True
    return repetition_rate(text) > 0.25


def coherent(text: str) -> bool:
    """Cheap proxies for 'still language': mostly real words, varied, no character on repeat."""
    toks = _WORD.findall(text)
    if not toks:
        return False
    distinct = len({w.lower() for w in toks}) / len(toks)
    letters = sum(len(w) for w in toks) / max(1, len(re.sub(r"\s", "", text)))
    return (len(toks) < 6 or distinct >= 0.4) and letters >= 0.5 and not re.search(r"(.)\1{9,}", text)


def content_words(text: str) -> set[str]:
    return {w[:4] for w in _tokens(text) if len(w) >= 4 and w not in _STOP}


def on_topic(question: str, answer: str) -> bool:
    """The answer shares at least one content word (by its first four letters) with the question."""
    wanted = content_words(question)
    return not wanted or bool(wanted & content_words(answer))


def damaged(question: str, answer: str) -> list[str]:
    """What is wrong with an answer (empty list = fine): loop, incoherent, off-topic, empty."""
    problems = []
    if not answer.strip():
        return ["empty"]
    if has_loop(answer):
        problems.append("loop")
    if not coherent(answer):
        problems.append("incoherent")
    if not on_topic(question, answer):
        problems.append("off-topic")
    return problems
