"""The suite as an Inspect AI task: samples are the suite's tasks, Rudder's agent is the solver, the
checker's verdict is the scorer, the arm (a mode name) is a task parameter.

    inspect eval rudder/ab/evaltask.py -T suite=suites/starter -T arm=fast-draft --model none

works on its own (one local worker); `rudder ab run` builds one task per arm and runs them together
through a shared worker pool (`set_pool`), so the arms of one task run side by side.
"""

from __future__ import annotations

from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessageAssistant, ChatMessageUser, ModelOutput
from inspect_ai.scorer import Score, Target, accuracy, scorer, stderr
from inspect_ai.solver import Generate, TaskState, solver

from rudder import __version__
from rudder.ab.adapters import resolve_suite
from rudder.ab.pool import Pool
from rudder.ab.sample import SampleRequest, SampleResult
from rudder.ab.suite import Suite, select_tasks

_state: dict[str, Any] = {"pool": None, "arms": []}


def set_pool(pool: Pool | None, arms: list[str]) -> None:
    """Share one worker pool (and the arms' order, for interleaving) among the tasks of one run."""
    _state["pool"], _state["arms"] = pool, list(arms)


def _pool() -> Pool:
    if _state["pool"] is None:
        _state["pool"] = Pool.create("local", 1)
    return _state["pool"]


def _messages(result: SampleResult) -> list[Any]:
    """The agent's steps as a chat transcript, so `inspect view` shows what happened."""
    messages: list[Any] = []
    for step in result.transcript:
        label = f"[step {step['index']} {step['kind']} · {step['mode']}]"
        messages.append(ChatMessageAssistant(content=f"{label}\n{step.get('output') or ''}", model="rudder"))
        if step.get("observation"):
            messages.append(ChatMessageUser(content=f"[{step.get('tool')}] {step['observation']}"))
    return messages


def sample_seed(seed: int, epoch: int) -> int:
    """Each epoch samples with its own seed (seed, seed + 1, ...): with one seed for all, every epoch of a
    task at temperature > 0 replayed the first token for token. Arms share it, so they are compared on the
    same random draws."""
    return seed + epoch - 1


@solver
def rudder_agent(
    suite: Suite,
    arm: str,
    seed: int = 0,
    temperature: float = 0.0,
    record: str | None = None,
    record_dir: str | None = None,
):
    tasks = {t.id: t for t in suite.tasks}
    order = {t.id: i for i, t in enumerate(suite.tasks)}

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        arms = _state["arms"]
        request = SampleRequest(
            task=tasks[str(state.sample_id)],
            arm=arm,
            epoch=state.epoch,
            seed=sample_seed(seed, state.epoch),
            temperature=temperature,
            record_layers=record,
            record_dir=record_dir,
        )
        priority = (state.epoch, order[str(state.sample_id)], arms.index(arm) if arm in arms else 0)
        result = await _pool().run(request, priority)  # InfraError -> an Inspect sample error, counted apart
        state.messages.extend(_messages(result))
        state.output = ModelOutput.from_content("rudder", result.answer or "(no answer)")
        state.metadata["rudder"] = result.model_dump(mode="json", exclude={"transcript", "manifest"})
        state.metadata["manifest"] = result.manifest
        state.completed = True
        return state

    return solve


@scorer(metrics=[accuracy(), stderr()])
def checker():
    async def score(state: TaskState, target: Target) -> Score:
        result = state.metadata["rudder"]
        verdict = "timed out" if result["check_timed_out"] else f"exit {result['check_exit']}"
        return Score(
            value=1.0 if result["passed"] else 0.0,
            answer=result.get("answer", ""),
            explanation=f"checker {verdict}\n{result.get('check_output', '')}",
            metadata={
                k: result[k]
                for k in (
                    "steps",
                    "tool_errors",
                    "protocol_errors",
                    "words_per_message",
                    "tokens",
                    "status",
                    "agent_seconds",
                )
            },
        )

    return score


@task
def rudder_ab(
    suite: str,
    arm: str = "neutral",
    tasks: str | None = None,
    seed: int = 0,
    temperature: float = 0.0,
    max_steps: int | None = None,
    split: str | None = None,
    record: str | None = None,
    record_dir: str | None = None,
) -> Task:
    spec = select_tasks(resolve_suite(suite), tasks, split)
    if max_steps is not None:  # one cap for every task, e.g. to keep a run on a slow machine short
        spec.tasks = [t.model_copy(update={"max_steps": max_steps}) for t in spec.tasks]
    dataset = [
        Sample(id=t.id, input=t.instruction, metadata={"tags": t.tags, "max_steps": t.max_steps, "check": t.check})
        for t in spec.tasks
    ]
    return Task(
        name=f"{spec.name}@{arm.replace('/', '+')}",  # a "/" would become a folder in the log's file name
        dataset=dataset,
        # options at their defaults are not passed: the solver's arguments are part of Inspect's task identity,
        # so a new option must not stop older logs from resuming
        solver=rudder_agent(
            spec, arm, seed, temperature, **({"record": record, "record_dir": record_dir} if record else {})
        ),
        scorer=checker(),
        metadata={
            "suite": spec.name,
            "suite_source": spec.source,
            "arm": arm,
            "rudder_version": __version__,
            "seed": seed,
            "temperature": temperature,
            "split": split,
        },
    )
