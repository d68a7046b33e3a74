"""`rudder acp`: serve Rudder over the Agent Client Protocol on stdin/stdout."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import typer

from rudder.cli.options import CtxOpt, ModelOpt, ThreadsOpt, VerboseOpt


def acp(
    model: ModelOpt = None,
    n_ctx: CtxOpt = None,
    threads: ThreadsOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Serve Rudder to an editor over the Agent Client Protocol (JSON-RPC on stdin/stdout).

    Editors start it themselves. Zed: in settings.json,

    \b
        "agent_servers": {"Rudder": {"type": "custom", "command": "rudder", "args": ["acp"]}}

    Each ACP session is a Rudder session in the editor's project (a git repository). Rudder's modes are
    the session modes; each vector of the active mode is a "Steering" option (0x-2x of the mode's scale).
    stdout carries only protocol messages; logs go to stderr.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr, format="rudder acp: %(message)s"
    )
    overrides = {
        "model": {
            "model_path": str(Path(model).resolve()) if model else None,
            "n_ctx": n_ctx,
            "n_threads": threads,
            "verbose": verbose or None,
        }
    }
    protocol_out = _protect_stdout()
    from rudder.acp.server import RudderAgent, ServerOptions
    from rudder.acp.stdio import serve

    try:
        asyncio.run(serve(RudderAgent(ServerOptions(overrides=overrides)), protocol_out))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _protect_stdout() -> int:
    """Keep a private copy of stdout for the protocol and point fd 1 at stderr, so nothing else (a print,
    llama.cpp's C code) can write a stray line into the JSON-RPC stream."""
    sys.stdout.flush()
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol_fd
