"""Call constraints (paths and search text stay real) and the worked-example bank, without the model;
tests/agent/test_small_model.py drives them through a real Session on the embedded model."""

from __future__ import annotations

import math
from pathlib import Path

import git
import pytest

from rudder.agent.aids import examples
from rudder.agent.aids.constraints import CallConstraints, open_string_value
from rudder.tools.base import Workspace

COMPACT = ["read_file", "write_file", "edit_file", "run_shell"]


def vetoes(c: CallConstraints, text: str, piece: str) -> bool:
    return c.adjust(text, piece) == -math.inf


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    (tmp_path / "fruits.py").write_text("FRUITS = ['apple', 'banana']\n")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text('say "hi"\nline two\n')
    git.Repo.init(tmp_path).git.add(A=True)
    return Workspace(tmp_path)


def test_open_string_value_names_the_key_being_written() -> None:
    assert open_string_value('{"thought": "abc') == ("thought", "abc")
    assert open_string_value('{"thought": "a", "tool": "edit_file", "path": "fr') == ("path", "fr")
    assert open_string_value('{"tool": "edit_file", "path": "a.py", "search": "x\\n  ') == ("search", "x\\n  ")
    assert open_string_value('{"tool": "edit_file", "path": "a.py", ') is None
    assert open_string_value('{"tool": "edit_') == ("tool", "edit_")
    assert open_string_value('{"thought": "a", "tool"') is None  # a key, not a value


def test_read_and_edit_paths_must_be_files_of_the_repo(ws: Workspace) -> None:
    c = CallConstraints(ws)
    head = '{"thought": "x", "tool": "edit_file", "path": "'
    assert not vetoes(c, head, "fru") and not vetoes(c, head + "fru", "its.py")
    assert vetoes(c, head, "fruit_list")  # no file starts so
    assert not vetoes(c, head + "fruits.py", '",')  # closing on an existing file
    assert vetoes(c, head + "fruits", '",')  # closing on a file that does not exist
    assert not vetoes(c, head, "notes/todo.txt")
    assert not c.active('{"thought": "x", "tool": "edit_')  # the tool name is the grammar's business
    write = '{"thought": "x", "tool": "write_file", "path": "'
    assert not c.active(write) and not vetoes(c, write, "new_file.py")  # new files are free


def test_search_text_must_be_in_the_file_as_json_writes_it(ws: Workspace) -> None:
    c = CallConstraints(ws)
    head = '{"thought": "x", "tool": "edit_file", "path": "fruits.py", "search": "'
    assert not vetoes(c, head, "'banana'") and not vetoes(c, head + "'banana'", "]")
    assert vetoes(c, head + "'banana'", ", 'pear'")  # the text the 135M model searched for
    assert vetoes(c, head, '",')  # an empty search
    quoted = '{"thought": "x", "tool": "edit_file", "path": "notes/todo.txt", "search": "'
    assert not vetoes(c, quoted, 'say \\"hi\\"\\nline')  # escapes as the model writes them
    assert vetoes(c, quoted, "say hi")
    replace = head + '\'banana\'", "replace": "'
    assert not vetoes(c, replace, "anything at all")  # replace text is free (only not equal to search)


def test_small_model_rules(ws: Workspace) -> None:
    c = CallConstraints(ws, thought_start="To ", foreign_prefix=examples.FILE_PREFIX, no_finish=True)
    assert not vetoes(c, '{"thought": "', "To") and not vetoes(c, '{"thought": "To', " change")
    assert vetoes(c, '{"thought": "', "Done") and vetoes(c, '{"thought": "T', "he")
    assert not vetoes(c, '{"thought": "To change', " the line")  # once started, the thought is free
    tool = '{"thought": "To fix it.", "tool": "'
    assert vetoes(c, tool, "finish") and vetoes(c, tool, "fin") and not vetoes(c, tool, "edit_file")
    write = '{"thought": "To x", "tool": "write_file", "path": "'
    assert vetoes(c, write, "example_notes.txt") and vetoes(c, write, "example")
    assert not vetoes(c, write, "notes.txt") and not vetoes(c, write, "exa")
    assert vetoes(c, '{"thought": "To create ', "example_notes") and not vetoes(c, '{"thought": "To create ', "notes")


def test_one_sentence_thoughts_and_task_words_copied(ws: Workspace) -> None:
    c = CallConstraints(ws, one_sentence=True, task="in greeting.txt, replace the word morning with evening")
    head = '{"thought": "To change the word.'
    assert vetoes(c, head, " Then") and not vetoes(c, head, '", ') and not vetoes(c, '{"thought": "see a.py', ".")
    replace = '{"thought": "x", "tool": "edit_file", "path": "greeting.txt", "search": "morning", "replace": "'
    assert c.adjust(replace, "even") > 0 and c.adjust(replace + "even", "ing") > 0
    assert c.adjust(replace, "night") == 0 and c.adjust(replace, "ev") == 0  # too short to tell
    assert CallConstraints(ws).adjust(replace, "even") == 0  # no task given: no bonus


def test_examples_closest_to_the_task_come_last_and_use_offered_tools() -> None:
    picked = examples.pick("in settings.py, change PORT from 80 to 8080", COMPACT, 2)
    assert "change LIMIT" in picked[-1].task
    assert examples.pick("please remove the file old.txt", COMPACT, 1)[0].task.startswith("delete")
    no_shell = examples.pick("delete the file old.txt", ["read_file", "write_file", "edit_file"], 3)
    assert all("run_shell" not in ex.tools() for ex in no_shell)
    # file names say nothing about the idiom: ".py" must not pull in the Python-script example
    assert "prints" not in examples.pick("in a.py, change X from 1 to 2", COMPACT, 2)[0].task


def test_every_example_uses_example_files_and_restates_the_goal() -> None:
    for ex in examples.BANK:
        first = ex.calls[0]
        assert first.thought.startswith(examples.THOUGHT_START), ex.task
        assert ex.calls[-1].tool == "finish"
        for name, _ in ex.files:
            assert name.startswith(examples.FILE_PREFIX)
        path = first.arguments.get("path")
        assert path is None or str(path).startswith(examples.FILE_PREFIX)


def test_search_must_match_once_and_replace_must_differ(ws: Workspace) -> None:
    (ws.root / "main.py").write_text("def double(x)\n    return x * 2\n\nprint(double(21))\n")
    c = CallConstraints(ws)
    head = '{"thought": "x", "tool": "edit_file", "path": "main.py", "search": "'
    assert vetoes(c, head + "double", '",')  # two matches: the tool would refuse it
    assert not vetoes(c, head + "def double(x)", '",')
    replace = head + 'def double(x)", "replace": "def double(x)'
    assert vetoes(c, replace, '"') and not vetoes(c, replace, ':"')


def test_thought_past_its_first_sentence_falls_back_to_closing(ws: Workspace) -> None:
    c = CallConstraints(ws, one_sentence=True)
    assert c.fallback('{"thought": "To fix it. ') == '"'
    assert c.fallback('{"thought": "To fix it.", "tool": "edit_file", "path": "') is None
    assert CallConstraints(ws).fallback('{"thought": "To fix it. ') is None


def test_answers_copy_from_the_files_the_task_names(ws: Workspace) -> None:
    (ws.root / "settings.py").write_text("HOST = 'localhost'\nPORT = 8042\n")
    c = CallConstraints(ws, task="Which port does settings.py set? Write just the number into answer.txt")
    write = '{"thought": "To answer.", "tool": "write_file", "path": "'
    assert c.adjust(write, "answer") > 0 and c.adjust(write, "notes") == 0  # named, not there yet
    assert vetoes(c, write + "settings.py", '",')  # exists and was not read in this run
    content = write + 'answer.txt", "content": "'
    assert c.adjust(content, "8042") > 0 and c.adjust(content, "1040") == 0
    said = '{"thought": "To answer, the port is 8042.", "tool": "write_file", "path": "answer.txt", "content": "'
    assert c.adjust(said, "8042") > c.adjust(said, "localhost") > 0  # what the thought said comes first


def test_the_tool_the_thought_names_is_favoured(ws: Workspace) -> None:
    c = CallConstraints(ws, task="append the line 'x' to todo.txt")
    head = '{"thought": "Done: the line is added, so I finish.", "tool": "'
    assert c.adjust(head, "finish") > 0 and c.adjust(head, "run_shell") == 0
    assert c.adjust('{"thought": "To append, I use run_shell.", "tool": "', "run") > 0
    assert c.adjust('{"thought": "To answer, I read the port.", "tool": "', "read") == 0  # "read" is no tool name
