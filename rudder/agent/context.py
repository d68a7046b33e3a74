"""The conversation the model sees, kept inside the context window.

Order of sacrifice when the prompt nears n_ctx: old observations are shortened (oldest first), then the
worked example goes, then the oldest turns are replaced by a one-line-per-step summary. The system
prompt, the task and the latest turns always stay: the task is never silently dropped.

Every change in the middle of the prompt costs prefill (what follows it is re-read, or at best shifted in
the KV cache, engine/kv_reuse.py), while a prompt that only grows costs just its new tokens. So a prompt
over the limit is shrunk in one go well below it (`TRIM_TO`), not just under it: the next several steps
then append only, instead of each shrinking a little and changing the prompt again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Message = dict[str, str]
KEEP_RECENT = 2  # turns that are never shortened or summarised
SHORT_OBSERVATION = 240  # characters an old observation keeps
TRIM_TO = 0.7  # a prompt over the limit is shrunk to this share of it (room for the next steps to append)


@dataclass
class Turn:
    call: str  # what the model wrote
    observation: str | None  # what came back; None after the last call of a turn (finish), until a follow-up
    summary: str  # one line: "write_file notes.txt -> ok"
    shortened: bool = False

    def messages(self) -> list[Message]:
        observation = self.observation
        if observation is None:
            return [{"role": "assistant", "content": self.call}]
        if self.shortened and len(observation) > SHORT_OBSERVATION:
            cut = len(observation) - SHORT_OBSERVATION
            observation = f"{observation[:SHORT_OBSERVATION]}\n[... {cut} characters of this old result omitted]"
        return [{"role": "assistant", "content": self.call}, {"role": "user", "content": observation}]


@dataclass
class Conversation:
    system: str
    task: str
    example: list[Message] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    summarised: int = 0  # how many of the oldest turns are folded into the summary line
    include_example: bool = True

    def add(self, call: str, observation: str | None, summary: str) -> None:
        self.turns.append(Turn(call, observation, summary))

    def add_user(self, text: str) -> None:
        """A new user message (a follow-up): it answers the last call, or joins the last user message."""
        if not self.turns:
            self.task = f"{self.task}\n\n{text}"
        elif self.turns[-1].observation is None:
            self.turns[-1].observation = text
        else:
            self.turns[-1].observation = f"{self.turns[-1].observation}\n\n{text}"

    def messages(self) -> list[Message]:
        out: list[Message] = [{"role": "system", "content": self.system}]
        if self.include_example:
            out += self.example
        task = self.task
        if self.summarised:
            steps = "\n".join(f"{i + 1}. {t.summary}" for i, t in enumerate(self.turns[: self.summarised]))
            task = f"{task}\n\nSteps already taken (summarised):\n{steps}"
        out.append({"role": "user", "content": task})
        for turn in self.turns[self.summarised :]:
            out += turn.messages()
        return out

    @property
    def stable_messages(self) -> int:
        """How many leading messages stay the same from run to run (the system prompt and the examples)."""
        return 1 + (len(self.example) if self.include_example else 0)

    def fit(self, count_tokens: Callable[[list[Message]], int], limit: int) -> list[Message]:
        """The messages as they are when `count_tokens(messages) <= limit`; else shrunk step by step down to
        `TRIM_TO` of the limit (or until nothing is left to shrink: the caller's engine then reports an
        overflow clearly)."""
        messages = self.messages()
        if count_tokens(messages) <= limit:
            return messages
        target = int(limit * TRIM_TO)
        for shrink in (self._shorten_oldest, self._drop_example, self._summarise_oldest):
            while shrink():
                messages = self.messages()
                if count_tokens(messages) <= target:
                    return messages
        return messages

    def _recent_start(self) -> int:
        return max(self.summarised, len(self.turns) - KEEP_RECENT)

    def _shorten_oldest(self) -> bool:
        for turn in self.turns[self.summarised : self._recent_start()]:
            if not turn.shortened and len(turn.observation or "") > SHORT_OBSERVATION:
                turn.shortened = True
                return True
        return False

    def _drop_example(self) -> bool:
        if self.include_example and self.example:
            self.include_example = False
            return True
        return False

    def _summarise_oldest(self) -> bool:
        if self.summarised < self._recent_start():
            self.summarised += 1
            return True
        return False
