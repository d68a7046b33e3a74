"""Worked examples: a small bank of idioms, and the ones closest to the task shown before it.

A small model copies the shape of the last exchange it saw far more than it follows instructions: with one
fixed example ("create a file") it created files for every task, and with a fixed list it used the last
example's tool for everything. So each run shows the `k` examples whose task shares the most words with
the real one, the closest last. Every example works on `example_*` files, so copying one can never pass
for doing the task, and each thought says what the call does (a model copies thoughts too).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from rudder.agent.context import Message

PREFIX = "Example task: "
FILE_PREFIX = "example_"  # every example's files start so; none of them is in the user's repo
THOUGHT_START = "To "  # every example's first thought restates the goal: "To change LIMIT ..., I ..."
Render = Callable[[str, Mapping[str, Any], str], str]  # (tool, arguments, thought) -> the model's call


@dataclass(frozen=True)
class Call:
    thought: str
    tool: str
    arguments: Mapping[str, Any]
    result: str  # what the tool answered (the finish call's is unused)


@dataclass(frozen=True)
class Example:
    task: str
    calls: tuple[Call, ...]
    files: tuple[tuple[str, str], ...] = ()  # attached to the task, as the harness attaches named files

    def tools(self) -> set[str]:
        return {call.tool for call in self.calls}


_NO_OUTPUT = "(no output) [exit code 0]"


def _done(answer: str, thought: str) -> Call:
    return Call(thought, "finish", {"answer": answer}, answer)


BANK: tuple[Example, ...] = (
    Example(
        "create example_notes.txt containing: red apples",
        (
            Call(
                "To create example_notes.txt containing red apples, I use write_file.",
                "write_file",
                {"path": "example_notes.txt", "content": "red apples\n"},
                "created example_notes.txt (11 bytes, 1 lines)",
            ),
            _done("Created example_notes.txt.", "Done: example_notes.txt exists, so I finish."),
        ),
    ),
    Example(
        "create example_hi.py that prints Hi there",
        (
            Call(
                "To create a script that prints Hi there, I write a print call with write_file.",
                "write_file",
                {"path": "example_hi.py", "content": 'print("Hi there")\n'},
                "created example_hi.py (18 bytes, 1 lines)",
            ),
            _done("Created example_hi.py.", "Done: the script exists, so I finish."),
        ),
    ),
    Example(
        "in example_config.py, change LIMIT from 10 to 20",
        (
            Call(
                "To change LIMIT from 10 to 20, I replace that line with edit_file.",
                "edit_file",
                {"path": "example_config.py", "search": "LIMIT = 10", "replace": "LIMIT = 20"},
                "edited example_config.py; line 2 now reads:\n2| LIMIT = 20",
            ),
            _done("LIMIT is 20 now.", "Done: LIMIT is changed, so I finish."),
        ),
        (("example_config.py", "NAME = 'demo'\nLIMIT = 10\n"),),
    ),
    Example(
        "add 'blue' to the COLORS list in example_colors.py",
        (
            Call(
                "To add 'blue' to COLORS, I put it after the last item with edit_file.",
                "edit_file",
                {"path": "example_colors.py", "search": "'green']", "replace": "'green', 'blue']"},
                "edited example_colors.py; line 1 now reads:\n1| COLORS = ['red', 'green', 'blue']",
            ),
            _done("Added 'blue' to COLORS.", "Done: the item is added, so I finish."),
        ),
        (("example_colors.py", "COLORS = ['red', 'green']\n"),),
    ),
    Example(
        "in example_motto.txt, replace the word cats with dogs",
        (
            Call(
                "To replace cats with dogs, I use edit_file.",
                "edit_file",
                {"path": "example_motto.txt", "search": "cats", "replace": "dogs"},
                "edited example_motto.txt; line 1 now reads:\n1| We like dogs.",
            ),
            _done("Replaced cats with dogs.", "Done: the word is replaced, so I finish."),
        ),
        (("example_motto.txt", "We like cats.\n"),),
    ),
    Example(
        "fix the typo 'recieve' in example_doc.md (it should be 'receive')",
        (
            Call(
                "To fix the typo, I replace recieve with receive using edit_file.",
                "edit_file",
                {"path": "example_doc.md", "search": "recieve", "replace": "receive"},
                "edited example_doc.md; line 1 now reads:\n1| We receive mail daily.",
            ),
            _done("Fixed the typo.", "Done: the typo is fixed, so I finish."),
        ),
        (("example_doc.md", "We recieve mail daily.\n"),),
    ),
    Example(
        "example_test_first.py fails: fix the bug in example_first.py so the test passes",
        (
            Call(
                "To fix the bug, I make first() return items[0], the first item the test expects.",
                "edit_file",
                {"path": "example_first.py", "search": "    return items[1]", "replace": "    return items[0]"},
                "edited example_first.py; line 2 now reads:\n2|     return items[0]",
            ),
            _done("first() now returns the first item; the test passes.", "Done: the bug is fixed, so I finish."),
        ),
        (
            ("example_first.py", "def first(items):\n    return items[1]\n"),
            (
                "example_test_first.py",
                "from example_first import first\n\n\ndef test_first():\n    assert first([4, 5]) == 4\n",
            ),
        ),
    ),
    Example(
        "add a function triple(x) to example_math.py that returns x * 3",
        (
            Call(
                "To add triple(x), I put it after the last line of example_math.py with edit_file.",
                "edit_file",
                {
                    "path": "example_math.py",
                    "search": "    return x / 2",
                    "replace": "    return x / 2\n\n\ndef triple(x):\n    return x * 3",
                },
                "edited example_math.py; lines 2-6 now read:\n2|     return x / 2\n3| \n4| \n5| def triple(x):\n"
                "6|     return x * 3",
            ),
            _done("Added triple(x).", "Done: the function is added, so I finish."),
        ),
        (("example_math.py", "def half(x):\n    return x / 2\n"),),
    ),
    Example(
        "in example_shop.py, rename the variable price to cost",
        (
            Call(
                "To rename price to cost everywhere, I use sed.",
                "run_shell",
                {"command": "sed -i 's/price/cost/g' example_shop.py"},
                _NO_OUTPUT,
            ),
            _done("Renamed price to cost.", "Done: the variable is renamed, so I finish."),
        ),
        (("example_shop.py", "price = 3\nprint(price * 2)\n"),),
    ),
    Example(
        "append the line 'eggs' to the end of example_list.txt",
        (
            Call(
                "To append the line eggs, I use echo with >>.",
                "run_shell",
                {"command": "echo 'eggs' >> example_list.txt"},
                _NO_OUTPUT,
            ),
            _done("Appended eggs.", "Done: the line is appended, so I finish."),
        ),
        (("example_list.txt", "milk\nflour\n"),),
    ),
    Example(
        "delete the file example_old.txt",
        (
            Call("To delete example_old.txt, I use rm.", "run_shell", {"command": "rm example_old.txt"}, _NO_OUTPUT),
            _done("Deleted example_old.txt.", "Done: the file is gone, so I finish."),
        ),
    ),
    Example(
        "count the lines in example_log.txt and write the number into example_count.txt",
        (
            Call(
                "To count the lines, I use wc -l and write the number into example_count.txt.",
                "run_shell",
                {"command": "wc -l < example_log.txt > example_count.txt && cat example_count.txt"},
                "4\n[exit code 0]",
            ),
            _done("example_log.txt has 4 lines.", "Done: the number is written, so I finish."),
        ),
    ),
    Example(
        "What does hello() in example_greet.py return?",
        (
            Call(
                "To answer, I read hello() in example_greet.py: it returns 'hello ' + name.",
                "finish",
                {"answer": "hello() returns 'hello ' + name."},
                "",
            ),
        ),
        (("example_greet.py", "def hello(name):\n    return 'hello ' + name\n"),),
    ),
    Example(
        "Which color does example_theme.py set? Write just the color into example_answer.txt",
        (
            Call(
                "To answer, I read COLOR = 'green' in example_theme.py and write green into example_answer.txt.",
                "write_file",
                {"path": "example_answer.txt", "content": "green\n"},
                "created example_answer.txt (6 bytes, 1 lines)",
            ),
            _done("The color is green.", "Done: the answer is written, so I finish."),
        ),
        (("example_theme.py", "COLOR = 'green'\nSIZE = 12\n"),),
    ),
)

_WORD = re.compile(r"[a-z]+")
_COMMON = frozenset(
    {"a", "an", "and", "the", "to", "of", "in", "into", "on", "it", "is", "that", "so", "be", "with", "from"}
    | {"for", "file", "just", "this", "by"}
)


_SAME = {  # a few verbs users say for the same idiom
    "remove": "delete",
    "erase": "delete",
    "update": "change",
    "modify": "change",
    "edit": "change",
    "insert": "add",
    "make": "create",
    "misspelled": "typo",
    "misspelling": "typo",
    "spelling": "typo",
    "what": "which",
}
_PATHLIKE = re.compile(r"[\w./-]*\.[A-Za-z0-9]{1,8}\b")


def _words(text: str) -> set[str]:
    """The task's words, without file names (their extensions and stems say nothing about the idiom)."""
    words = _WORD.findall(_PATHLIKE.sub(" ", text.lower()))
    return {_SAME.get(w, w) for w in words if w not in _COMMON}


def pick(task: str, tools: Collection[str], k: int, bank: tuple[Example, ...] = BANK) -> list[Example]:
    """The `k` examples (using only `tools`) whose tasks share the most words with `task`, closest last;
    ties keep the bank's order."""
    words = _words(task)
    usable = [(i, ex) for i, ex in enumerate(bank) if ex.tools() - {"finish"} <= set(tools)]
    ranked = sorted(usable, key=lambda item: (-len(words & _words(item[1].task)), item[0]))[:k]
    return [ex for _, ex in reversed(ranked)]


def messages(
    examples: list[Example],
    render: Render,
    observe: Callable[[str, str], str],
    attach: Callable[[list[tuple[str, str]]], str],
) -> list[Message]:
    """The examples as a conversation: the task (with its files attached), each call and its result."""
    out: list[Message] = []
    for example in examples:
        shown = attach(list(example.files))
        task = f"{PREFIX}{example.task}" + (f"\n\n{shown}" if shown else "")
        out.append({"role": "user", "content": task})
        for call in example.calls:
            out.append({"role": "assistant", "content": render(call.tool, call.arguments, call.thought)})
            if call.tool != "finish":
                out.append({"role": "user", "content": observe(call.tool, call.result)})
    return out
