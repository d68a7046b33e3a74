"""Model, context used / n_ctx, tok/s, step, tokens spent, sandbox; and what the agent is doing."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual.widgets import Static


@dataclass(frozen=True)
class Status:
    model: str = "—"
    n_ctx: int = 0
    ctx_used: int = 0
    tok_s: float | None = None
    step: int | None = None
    tokens: int = 0
    sandbox: str = "n/a"
    state: str = "loading"


class StatusLine(Static):
    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.status = Status()

    def on_mount(self) -> None:
        self.render_status()

    def set(self, **changes: object) -> None:
        new = replace(self.status, **changes)  # type: ignore[arg-type]
        if new != self.status:
            self.status = new
            self.render_status()

    def render_status(self) -> None:
        s = self.status
        rate = f"{s.tok_s:.0f} tok/s" if s.tok_s is not None else "– tok/s"
        step = f"step {s.step + 1}" if s.step is not None else "step –"
        line = Text.assemble(
            (f" {s.state} ", "reverse"),
            f"  {s.model}  ctx {s.ctx_used}/{s.n_ctx}  {rate}  {step}  {s.tokens} tokens  sandbox {s.sandbox}",
        )
        self.update(line, layout=False)  # one row, always: no layout pass (it would cost every key a frame)
