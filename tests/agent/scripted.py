"""A scripted stand-in for the engine (as mini-swe-agent's tests do): it replays canned replies, so the
agent loop is tested fast and exactly. Everything else (tools, git, checkpoints) is real."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rudder.engine.generation import GenerationStats, TokenEvent
from rudder.vectors.vector import ModelIdentity


@dataclass
class Info:
    name: str = "scripted"
    path: Path = Path("scripted.gguf")
    architecture: str = "scripted"
    n_ctx: int = 4096
    n_layer: int = 4
    n_embd: int = 8
    identity: ModelIdentity = field(default_factory=lambda: ModelIdentity(architecture="scripted", n_embd=8, n_layer=4))


class ScriptedGeneration:
    def __init__(self, reply: str, prompt: str) -> None:
        self.text, self.prompt = "", prompt
        self._reply = reply
        self.stats = GenerationStats(prompt_tokens=len(prompt.split()), prompt_tokens_evaluated=len(prompt.split()))
        self.cancelled = False

    def __iter__(self) -> Iterator[TokenEvent]:
        for word in self._reply.split(" "):
            piece = word if not self.text else f" {word}"
            self.text += piece
            self.stats.generated_tokens += 1
            yield TokenEvent(0, piece)
            if self.cancelled:
                self.stats.stop_reason = "cancelled"
                break

    def __next__(self) -> TokenEvent:  # the Generation protocol; iteration goes through __iter__
        raise StopIteration

    def cancel(self) -> None:
        self.cancelled = True


class ScriptedEngine:
    def __init__(self, replies: Sequence[str]) -> None:
        self.info = Info()
        self.replies = list(replies)
        self.prompts: list[str] = []
        self.grammars: list[str | None] = []

    def reset(self) -> None:
        self.resets = getattr(self, "resets", 0) + 1

    def settings(self) -> dict[str, Any]:
        return {"scripted": True}

    def tokenize(self, text: str, **_: Any) -> list[int]:
        return list(range(len(text.split())))

    def format_chat(self, messages: Sequence[dict[str, str]], **_: Any) -> str:
        return "\n".join(f"<{m['role']}> {m['content']}" for m in messages)

    def stream(self, prompt: str, sampling: Any, *, grammar: str | None = None, **_: Any) -> ScriptedGeneration:
        if not self.replies:
            raise AssertionError("the agent asked for more replies than the script has")
        self.prompts.append(prompt)
        self.grammars.append(grammar)
        return ScriptedGeneration(self.replies.pop(0), prompt)
