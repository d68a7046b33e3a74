"""Target-effect and damage measures used by check, calibrate, the guard's tests and the benches."""

from __future__ import annotations

from rudder.vectors.trust.textmetrics import checking, code_first, coherent, damaged, has_loop, on_topic, steps, words

LOOP = (
    "A process is a single entity that can be executed by a single thread. In other words, a process is a single "
    "entity that can be executed by a single thread. In other words, a process is a single entity that can be "
    "executed by a single thread."
)


def test_loops_and_gibberish_are_damage_and_plain_answers_are_not() -> None:
    assert has_loop(LOOP) and "loop" in damaged("What is a process?", LOOP)
    assert has_loop("1111111111111111111111")
    assert not coherent("%%%% ^^^ 11 22 33 ## !!")
    fine = "A process is a running program with its own memory; threads share that memory."
    assert not has_loop(fine) and coherent(fine) and damaged("What is a process?", fine) == []


def test_an_identifier_that_runs_on_is_a_loop_but_tables_and_lists_are_not() -> None:
    assert has_loop("```c\n#define DEBUG_SIGNED_ABSOLUTE_SIGNED_ABSOLUTE_SIGNED_ABSOLUTE_SIGNED_ABSOLUTE")
    assert has_loop("x = suite.run_time_than_cpu_output_than_cpu_output_than_cpu_output_than_cpu")
    assert not has_loop("| a | b | c |\n|---|---|---|\n| 1 | 2 | 3 |")
    assert not has_loop("1. Read the file.\n2. Read the tests.\n3. Run the tests.")
    assert not has_loop("It is very very very fast.")


def test_on_topic_needs_a_shared_content_word() -> None:
    assert on_topic("How do I speed up a slow database query?", "Add an index to the queried column.")
    assert not on_topic("How do I speed up a slow database query?", "Bananas are yellow fruit.")


def test_target_metrics() -> None:
    assert words("one two three") == 3
    assert checking("Read the file, run the tests and check the output.") > checking("Just change it.")
    assert code_first("```python\nprint(1)\n```\nThis prints one.") == 1.0
    assert code_first("This prints one.\n```python\nprint(1)\n```") == 0.5
    assert code_first("no code here") == 0.0
    assert steps("1. read\n2. edit\n3. test") == 1.0 and steps("one paragraph") == 0.0
