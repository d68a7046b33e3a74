"""The ACP agent: each ACP session is a Rudder Session in that repo, driven from a worker thread.

Threads: the asyncio loop owns the connection; every Session runs its turns in a worker thread (one at a
time per process: one engine, not thread-safe). The Session's listener hands events to the loop through
a queue, and the prompt coroutine turns them into `session/update` notifications in order. A permission
request is answered on the loop (`session/request_permission`) while the session thread waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import acp
from acp import RequestError
from acp.helpers import update_current_mode
from acp.schema import (
    AgentCapabilities,
    AuthenticateResponse,
    ClientCapabilities,
    ConfigOptionUpdate,
    Implementation,
    InitializeResponse,
    LoadSessionResponse,
    McpCapabilities,
    NewSessionResponse,
    PromptCapabilities,
    PromptResponse,
    SessionModeState,
    SetSessionConfigOptionResponse,
    SetSessionModeResponse,
)

from rudder import __version__
from rudder.acp import options, updates
from rudder.acp.files import ClientFiles
from rudder.acp.mcp import servers_for_session
from rudder.acp.state import AcpSession, ServerOptions
from rudder.acp.stdio import Wire
from rudder.agent.approval import ApprovalRequest
from rudder.agent.commands import load_commands
from rudder.agent.events import (
    ApprovalRequested,
    Event,
    ModeSwitched,
    Notice,
    RunFinished,
    StepFinished,
    StepRetried,
    Token,
    ToolCallFinished,
    ToolCallStarted,
)
from rudder.agent.factory import activate_mode, open_session
from rudder.agent.records import read_trajectory
from rudder.config import ConfigError, RudderConfig, load_config
from rudder.interfaces import Phase, StepKind
from rudder.modes.active import ActiveMode
from rudder.modes.registry import ModeError, load_modes
from rudder.tools.base import ToolError
from rudder.tools.gitops import find_repo_root
from rudder.vectors.vector import VectorError

log = logging.getLogger("rudder.acp")


class RudderAgent(acp.Agent):
    def __init__(self, options: ServerOptions | None = None) -> None:
        self.options = options or ServerOptions()
        self.engine = self.options.engine
        self.sessions: dict[str, AcpSession] = {}
        self.conn: acp.Client | None = None
        self._engine_lock = threading.Lock()
        self._turn_lock = asyncio.Lock()  # one generation at a time: one engine
        self.client_capabilities: ClientCapabilities | None = None
        self.wire: Wire | None = None  # the line transport, for what the SDK cannot send ($/cancel_request)
        self._background: set[asyncio.Task[None]] = set()

    def attach_wire(self, wire: Wire) -> None:
        self.wire = wire

    def on_connect(self, conn: acp.Client) -> None:
        self.conn = conn

    # -- set-up ------------------------------------------------------------------------------------

    async def initialize(
        self, protocol_version: int, client_capabilities: Any = None, client_info: Any = None, **_: Any
    ) -> InitializeResponse:
        self.client_capabilities = client_capabilities
        return InitializeResponse(
            protocol_version=acp.PROTOCOL_VERSION,
            agent_capabilities=AgentCapabilities(
                load_session=True,
                prompt_capabilities=PromptCapabilities(embedded_context=True),
                mcp_capabilities=McpCapabilities(http=True, sse=False),
            ),
            agent_info=Implementation(name="rudder", title="Rudder", version=__version__),
        )

    async def authenticate(self, method_id: str, **_: Any) -> AuthenticateResponse:
        return AuthenticateResponse()

    def _config(self, root: Path) -> RudderConfig:
        try:
            return load_config(root, self.options.overrides)
        except ConfigError as exc:
            raise RequestError.invalid_params({"message": str(exc)}) from None

    def _load_engine(self, config: RudderConfig) -> Any:
        with self._engine_lock:
            if self.engine is None:
                from rudder.engine.factory import load_engine

                self.engine = load_engine(config.model, log.info)
            return self.engine

    async def _open(self, cwd: str, mcp_servers: Any, trajectory: Path | None = None) -> AcpSession:
        try:
            root = find_repo_root(Path(cwd))
        except ToolError as exc:
            raise RequestError.invalid_params({"message": f"cwd {cwd}: {exc}"}) from None
        config = self._config(root)
        try:
            engine = await asyncio.to_thread(self._load_engine, config)
            session = open_session(
                engine,
                root,
                config.agent,
                config.sampling,
                approver=lambda request: None,
                trajectory=trajectory,
                mcp_servers=servers_for_session(config.mcp.enabled(), mcp_servers),  # started on the first prompt
            )
        except (ModeError, VectorError, ToolError) as exc:
            raise RequestError.invalid_params({"message": str(exc)}) from None
        except Exception as exc:  # a model that will not load, ...: the editor shows the message
            raise RequestError.internal_error({"message": f"{type(exc).__name__}: {exc}"}) from None
        path = session.trajectory.path
        state = AcpSession(path.stem if path else f"s{len(self.sessions)}", cwd, root, session, session.policy.name)
        session.listener = state.push
        fs = getattr(self.client_capabilities, "fs", None)
        if fs is not None and (fs.read_text_file or fs.write_text_file):
            session.ws.editor = ClientFiles(
                self.conn,
                state.id,
                asyncio.get_running_loop(),
                can_read=bool(fs.read_text_file),
                can_write=bool(fs.write_text_file),
            )
        state.commands = load_commands(root)
        for warning in state.commands.warnings:
            log.warning("%s", warning)
        self.sessions[state.id] = state
        return state

    def _offer_commands(self, state: AcpSession) -> None:
        """`available_commands_update`, queued to go out right after the response that names the session."""
        if not state.commands.commands:
            return
        task = asyncio.get_running_loop().create_task(self._send(state, updates.available_commands(state.commands)))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def new_session(self, cwd: str, mcp_servers: Any = None, **_: Any) -> NewSessionResponse:
        state = await self._open(cwd, mcp_servers)
        log.info("new session %s in %s", state.id, state.root)
        self._offer_commands(state)
        return NewSessionResponse(session_id=state.id, modes=self._modes(state), config_options=self._options(state))

    async def load_session(self, cwd: str, session_id: str, mcp_servers: Any = None, **_: Any) -> LoadSessionResponse:
        try:
            root = find_repo_root(Path(cwd))
        except ToolError as exc:
            raise RequestError.invalid_params({"message": f"cwd {cwd}: {exc}"}) from None
        path = root / ".git" / "rudder" / "trajectories" / f"{Path(session_id).name}.jsonl"
        if not path.is_file():
            raise RequestError.invalid_params({"message": f"no saved session {session_id!r} in {root}"})
        try:
            records = read_trajectory(path)
        except ValueError as exc:
            raise RequestError.invalid_params({"message": str(exc)}) from None
        state = await self._open(cwd, mcp_servers, trajectory=path)
        self.sessions.pop(state.id, None)
        state.id = session_id
        replaced = self.sessions.get(session_id)
        self.sessions[session_id] = state
        if replaced is not None:  # loaded again: the earlier copy's MCP servers stop
            await asyncio.to_thread(replaced.session.close)
        try:  # in a thread: a restored session starts its MCP servers (its tools are in the conversation)
            await asyncio.to_thread(state.session.restore, records)
        except ValueError as exc:
            raise RequestError.invalid_params({"message": f"{path}: {exc}"}) from None
        self._resume_mode(state, options.last_mode(records))
        await self._replay(state, records)
        self._offer_commands(state)
        return LoadSessionResponse(modes=self._modes(state), config_options=self._options(state))

    def _resume_mode(self, state: AcpSession, mode: str | None) -> None:
        """A loaded session goes on in the mode it last ran in (when that mode still loads)."""
        known = load_modes(state.root)
        name = next((n for n in (mode, (mode or "").split("/")[0]) if n and n in known), None)
        if name is None or name == state.mode:
            return
        try:
            state.session.policy = activate_mode(state.session.engine, state.root, name)
        except (ModeError, VectorError) as exc:
            log.warning(
                "session %s ran in %s, which no longer loads (%s): going on in %s", state.id, name, exc, state.mode
            )
            return
        state.mode = name

    async def _replay(self, state: AcpSession, records: list[dict[str, Any]]) -> None:
        """Send the saved conversation to the client, as the protocol asks of session/load."""
        for update in updates.replayed(records, state.cwd):
            await self._send(state, update)

    # -- modes and sliders -------------------------------------------------------------------------

    def _modes(self, state: AcpSession) -> SessionModeState:
        return options.mode_state(state.root, state.mode)

    def _options(self, state: AcpSession) -> list[Any]:
        return options.config_options(state.root, state.mode, state.strengths)

    def _state(self, session_id: str) -> AcpSession:
        if session_id not in self.sessions:
            raise RequestError.invalid_params({"message": f"unknown session {session_id!r}"})
        return self.sessions[session_id]

    async def _switch(self, state: AcpSession, mode_name: str) -> None:
        try:
            policy = activate_mode(state.session.engine, state.root, mode_name)
        except (ModeError, VectorError) as exc:
            raise RequestError.invalid_params({"message": str(exc)}) from None
        state.mode, state.strengths = mode_name, {}
        state.session.switch_policy(policy)  # at the next step (or the next turn)
        await self._send(state, update_current_mode(mode_name))
        # the new mode's sliders at once (the old mode's are gone): clients redraw from this list
        await self._send(
            state, ConfigOptionUpdate(session_update="config_option_update", config_options=self._options(state))
        )

    async def set_session_mode(self, session_id: str, mode_id: str, **_: Any) -> SetSessionModeResponse:
        await self._switch(self._state(session_id), mode_id)
        return SetSessionModeResponse()

    async def set_config_option(
        self, config_id: str, session_id: str, value: str | bool, **_: Any
    ) -> SetSessionConfigOptionResponse:
        state = self._state(session_id)
        if config_id == "mode":
            await self._switch(state, str(value))
        elif config_id.startswith(options.SLIDER_PREFIX):
            vector = config_id.removeprefix(options.SLIDER_PREFIX)
            if vector not in options.slider_vectors(state.root, state.mode):
                raise RequestError.invalid_params(
                    {"message": f"mode {state.mode} has no {vector!r} vector to steer (options: see configOptions)"}
                )
            if str(value) not in options.STRENGTHS:
                raise RequestError.invalid_params(
                    {"message": f"{config_id}: {value!r} is not one of {', '.join(options.STRENGTHS)}"}
                )
            state.strengths[vector] = str(value)
            self._apply_strengths(state)
        else:
            raise RequestError.invalid_params({"message": f"unknown option {config_id!r} or value {value!r}"})
        return SetSessionConfigOptionResponse(config_options=self._options(state))

    def _apply_strengths(self, state: AcpSession) -> None:
        policy = activate_mode(state.session.engine, state.root, state.mode)
        bases = {name: spec.scale for name, spec in policy.mode.base_entries().items()}
        scales = {name: bases[name] * float(v) for name, v in state.strengths.items() if name in bases}
        rescaled = ActiveMode(policy.mode.with_scales(scales), policy.resolve)  # a strength multiplies the base
        state.session.switch_policy(rescaled, now=True)  # applied at the next token

    # -- prompts ------------------------------------------------------------------------------------

    async def prompt(self, session_id: str, prompt: list[Any], **_: Any) -> PromptResponse:
        state = self._state(session_id)
        text = self._expand_command(state, updates.prompt_text(prompt))
        if not text.strip():
            raise RequestError.invalid_params({"message": "the prompt has no text"})
        too_long = self._too_long(state, text)
        if too_long is not None:  # a turn would only fail on it, after tokenizing it over and over
            await self._send(state, acp.update_agent_message_text(too_long))
            return PromptResponse(stop_reason="max_tokens")
        async with self._turn_lock:
            state.loop, state.queue = asyncio.get_running_loop(), asyncio.Queue()
            session = state.session
            run = session.send if session.conversation is not None else session.run
            worker = asyncio.create_task(asyncio.to_thread(run, text))
            summary = None
            try:
                while summary is None:
                    event = await state.queue.get()
                    if isinstance(event, RunFinished):
                        summary = event.summary
                    else:
                        await self._forward(state, event)
                await worker
            finally:
                state.queue = None
                await self._settle_permissions(state)  # a question nobody answered is withdrawn
        stop_reason, message = updates.turn_outcome(summary)
        if message is not None:
            await self._send(state, acp.update_agent_message_text(message))
        return PromptResponse(stop_reason=stop_reason)  # type: ignore[arg-type]

    def _expand_command(self, state: AcpSession, text: str) -> str:
        """`/review src/app.py` with a custom command named review: its template, with the arguments."""
        head, *rest = text.strip().split(maxsplit=1) or [""]
        command = state.commands.get(head[1:].lower()) if head.startswith("/") else None
        return command.expand(rest[0] if rest else "") if command is not None else text

    def _too_long(self, state: AcpSession, text: str) -> str | None:
        engine, session = state.session.engine, state.session
        room = engine.info.n_ctx - session.sampling.max_tokens
        tokens = len(engine.tokenize(text, add_bos=False))
        return updates.prompt_too_long(tokens, room, engine.info.n_ctx) if tokens > room else None

    async def _forward(self, state: AcpSession, event: Event) -> None:
        if isinstance(event, Token) and event.phase == Phase.THOUGHT and event.text:
            await self._send(state, acp.update_agent_thought_text(event.text))
        elif isinstance(event, ToolCallStarted):
            await self._send(state, updates.tool_started(event, state.cwd))
        elif isinstance(event, ToolCallFinished):
            await self._send(state, updates.tool_finished(event, state.cwd))
        elif isinstance(event, ApprovalRequested):  # asked beside the turn: a cancel must not wait for it
            ask = asyncio.create_task(self._ask(state, event.request))
            state.asking.add(ask)
            ask.add_done_callback(state.asking.discard)
        elif isinstance(event, ModeSwitched):
            await self._send(state, update_current_mode(event.new.split("/")[0]))
        elif isinstance(event, StepRetried):  # a thought already sent cannot be taken back: say it was set aside
            note = f"\n\n({event.mode}'s reply set aside: {event.reason}; asked again without the mode)\n\n"
            await self._send(state, acp.update_agent_thought_text(note))
        elif isinstance(event, Notice):
            log.warning("session %s: %s", state.id, event.text)
            await self._send(state, acp.update_agent_message_text(f"Warning: {event.text}\n\n"))
        elif isinstance(event, StepFinished):
            record = event.record
            if record.tool == "finish":
                await self._send(state, acp.update_agent_message_text(record.observation))
            elif record.kind == StepKind.PLAN and record.output:
                await self._send(state, acp.update_plan([acp.plan_entry(record.output, status="in_progress")]))

    async def _ask(self, state: AcpSession, request: ApprovalRequest) -> None:
        assert self.conn is not None
        try:
            response = await self.conn.request_permission(
                session_id=state.id,
                tool_call=updates.permission_tool_call(request, state.cwd),
                options=updates.PERMISSION_OPTIONS,
            )
            decision, message = updates.decision(response)
        except asyncio.CancelledError:  # the turn was cancelled: the session already rejected it
            request.answer(updates.Decision.REJECT, "the turn was cancelled")
            raise
        except Exception as exc:  # the client failed to answer: refuse, and tell the model why
            decision, message = updates.Decision.REJECT, f"the editor could not ask ({exc})"
        request.answer(decision, message)

    async def _settle_permissions(self, state: AcpSession) -> None:
        """Withdraw the permission requests still open when a turn ends (a cancel, an error): stop waiting
        for them and tell the client with `$/cancel_request`, so its dialog can close."""
        for ask in list(state.asking):
            ask.cancel()
        if state.asking:
            await asyncio.gather(*state.asking, return_exceptions=True)
        if self.wire is not None:
            for request_id in self.wire.open_requests("session/request_permission", state.id):
                self.wire.notify("$/cancel_request", {"requestId": request_id})

    async def _send(self, state: AcpSession, update: Any) -> None:
        if self.conn is not None:
            await self.conn.session_update(session_id=state.id, update=update)

    def close_sessions(self) -> None:
        """The connection ended: stop every session's MCP servers."""
        for state in list(self.sessions.values()):
            state.session.interrupt()
            state.session.close()

    async def cancel(self, session_id: str, **_: Any) -> None:
        """Stop the turn: generation within a token, a running tool at once, and an unanswered permission
        request rejected by the session (the client need not answer it; the turn ends `cancelled`)."""
        if session_id in self.sessions:
            self.sessions[session_id].session.interrupt()
