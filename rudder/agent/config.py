"""How an agent run behaves: limits, approvals, the starting mode, where trajectories go."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
    reproducible: bool = Field(
        True, description="clear the KV cache when a session starts, so greedy runs repeat exactly"
    )
