"""Wiring: engine + repo + config + mode -> a ready Session. Shared by the CLI, the TUI and the A/B harness."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rudder.agent.approval import Approver
from rudder.agent.config import AgentConfig
from rudder.agent.events import Listener
from rudder.agent.protocols.calls import THOUGHT_MAX_LENGTH, ToolCallProtocol
from rudder.agent.protocols.dsml import DsmlProtocol
from rudder.agent.protocols.json_calls import JsonProtocol
from rudder.agent.records import Trajectory, trajectory_path
from rudder.agent.repomap import build_repo_map
from rudder.agent.session import Session
from rudder.engine.engine import Engine
from rudder.engine.generation import Sampling
from rudder.modes.active import ActiveMode
from rudder.modes.registry import get_mode
from rudder.tools.base import Tool, Workspace
from rudder.tools.mcp.config import McpServer
from rudder.tools.mcp.hub import McpHub
from rudder.tools.sandbox import choose_sandbox
from rudder.tools.toolbox import all_tools
from rudder.vectors.extraction.recording import ActivationRecorder, steps_meta
from rudder.vectors.extraction.runlabels import step_labels
from rudder.vectors.files.library import VectorResolver
from rudder.vectors.steering.steerer import Steerer


def activate_mode(engine: Engine, repo: Path | None, name: str) -> ActiveMode:
    """Load a mode by name and resolve its vectors for the loaded model (errors name the vector)."""
    mode = get_mode(name, repo)
    base_dir = mode.source.parent if mode.source else None
    return ActiveMode(mode, VectorResolver(engine.info.identity, repo, base_dir))


PROTOCOLS = {"json": JsonProtocol, "dsml": DsmlProtocol}  # the model profile names one


SMALL_THOUGHT = 120  # characters: a small model's thoughts ran on into loops at 160


def protocol_for(engine: Engine, tools: dict[str, Tool], *, small: bool = False) -> ToolCallProtocol:
    """The tool-call format the loaded model was trained on (its profile's), JSON when unknown."""
    kind = PROTOCOLS.get(engine.profile.tool_protocol, JsonProtocol)
    if kind is JsonProtocol:  # a short free-text "thought" opens each call: the phase modes steer
        return JsonProtocol(tools, with_thought=True, thought_max=SMALL_THOUGHT if small else THOUGHT_MAX_LENGTH)
    return kind(tools)


def repo_map_budget(engine: Engine) -> int:
    """A sixteenth of the context for the map: enough to orient a small model, not enough to drown it."""
    return max(128, engine.info.n_ctx // 16)


def open_session(
    engine: Engine,
    repo: Path,
    config: AgentConfig,
    sampling: Sampling,
    *,
    mode: str | None = None,
    steerer: Steerer | None = None,
    approver: Approver | None = None,
    listener: Listener | None = None,
    trajectory: Path | None = None,
    record: bool = True,
    record_layers: tuple[int, ...] | None = None,
    mcp_servers: Mapping[str, McpServer] | None = None,
) -> Session:
    """`record_layers`: keep each step's residual at these layers (session.recorder; saved by the caller).
    `mcp_servers`: their tools join the session's on its first turn; the caller calls `session.close()`."""
    policy = activate_mode(engine, repo, mode or config.mode)
    sandbox = choose_sandbox(config.sandbox, config.network)  # SandboxUnavailable when required and missing
    workspace = Workspace(repo, shell_timeout=config.shell_timeout, sandbox=sandbox)
    repo_map = build_repo_map(
        repo,
        budget_tokens=repo_map_budget(engine),
        count_tokens=lambda text: len(engine.tokenize(text, add_bos=False)),
        fill_in_background=True,
    )
    tools = all_tools(compact=config.compact_tools(engine.info))
    path = None
    if record:
        path = trajectory or trajectory_path(repo, config.trajectory_dir)
    session = Session(
        engine,
        workspace,
        policy,
        config=config,
        sampling=sampling,
        steerer=steerer,
        approver=approver,
        tools=tools,
        protocol=protocol_for(engine, tools, small=config.is_small(engine.info)),
        trajectory=Trajectory(path),
        repo_map=repo_map,
        listener=listener,
        mcp=McpHub(dict(mcp_servers), repo) if mcp_servers else None,
    )
    if record_layers:
        session.recorder = ActivationRecorder(
            tuple(record_layers), engine.info.n_embd, engine.profile.sites.default_site
        )
        session.steerer.record(session.recorder.nodes)  # type: ignore[attr-defined]
    return session


def save_recording(
    session: Session, path: Path, *, task: str, files: list[str], passed: bool | None, **run: object
) -> Path | None:
    """Write the session's recorded residuals with each step's labels (vectors/extraction/runlabels.py) to `path`."""
    if session.recorder is None:
        return None
    steps = [record.model_dump(mode="json") for record in session.history]
    labels = step_labels(steps, instruction=f"{task}\n{session.repo_map}", files=files, passed=passed)
    meta = {
        "model": session.engine.info.identity.model_dump(mode="json"),
        "mode": session.policy.name,
        "temperature": session.sampling.temperature,
        "seed": session.sampling.seed,
        "task": task,
        "passed": passed,
        **run,
        "steps": steps_meta(steps, labels),
    }
    return session.recorder.save(path, meta)
