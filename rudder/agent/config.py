"""How an agent run behaves: limits, approvals, the starting mode, where trajectories go."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SMALL_MODEL_PARAMS = 1_000_000_000  # below this a model gets the compact toolset and more examples


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_steps: int = Field(20, ge=1, description="tool calls before the run stops")
    token_budget: int = Field(200_000, ge=1000, description="prompt + generated tokens for one run")
    approval: Literal["auto", "ask", "read-only"] | None = Field(
        None,
        description=(
            "auto: run every tool; ask: confirm writes and shell; read-only: refuse them. Not set: writes run, "
            "shell commands run in the sandbox, or need a yes where there is none. Writes to .rudder/, "
            ".rudder.toml and .git/ always need a yes."
        ),
    )
    mode: str = Field("neutral", description="the mode a run starts in")
    shell_timeout: float = Field(60.0, gt=0, le=3600, description="seconds before a command is killed")
    trajectory_dir: Path | None = Field(
        None, description="where run trajectories go (relative to the repo); default .git/rudder/trajectories"
    )
    sandbox: Literal["auto", "off", "required"] = Field(
        "auto",
        description="shell commands in a bubblewrap sandbox (only the repo and a private /tmp writable): "
        "auto = where bwrap works, required = refuse to run without it, off = never",
    )
    network: bool = Field(False, description="let sandboxed shell commands reach the network")
    plan_first: bool = Field(False, description="start each run with a short free-text plan step")
    toolset: Literal["auto", "full", "compact"] = Field(
        "auto",
        description="the tools the model is offered: compact = read_file, write_file, edit_file, run_shell "
        "(a small model picks better from fewer); auto = compact for models under 1B parameters",
    )
    examples: int | None = Field(
        None,
        ge=0,
        le=6,
        description="worked examples shown before the task, the closest to it picked from a bank; "
        "not set: 2 for models under 1B parameters, 1 otherwise",
    )
    instructions_tokens: int | None = Field(
        None,
        ge=0,
        description="tokens of AGENTS.md project instructions in the system prompt (what does not fit is cut and "
        "listed); not set: a sixteenth of the context window, at most 8192; 0 = read none",
    )
    reproducible: bool = Field(
        True, description="clear the KV cache when a session starts, so greedy runs repeat exactly"
    )

    def is_small(self, info: object) -> bool:
        n_params = int(getattr(info, "n_params", 0) or 0)
        return 0 < n_params < SMALL_MODEL_PARAMS

    def examples_for(self, info: object) -> int:
        if self.examples is not None:
            return self.examples
        return 2 if self.is_small(info) else 1

    def instructions_budget(self, info: object) -> int:
        if self.instructions_tokens is not None:
            return self.instructions_tokens
        return min(8192, int(getattr(info, "n_ctx", 0) or 0) // 16)

    def compact_tools(self, info: object) -> bool:
        return self.toolset == "compact" or (self.toolset == "auto" and self.is_small(info))
