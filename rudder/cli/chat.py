"""`rudder chat`: a plain streaming chat on the terminal, the engine with nothing around it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rudder.cli.options import (
    CtxOpt,
    MaxTokOpt,
    ModelOpt,
    SeedOpt,
    TempOpt,
    ThreadsOpt,
    VerboseOpt,
    build_config,
    fail,
)

SystemOpt = Annotated[str, typer.Option("--system", "-s", help="system prompt")]


def chat(
    model: ModelOpt = None,
    system: SystemOpt = "You are a helpful assistant.",
    temperature: TempOpt = None,
    max_tokens: MaxTokOpt = None,
    seed: SeedOpt = None,
    n_ctx: CtxOpt = None,
    threads: ThreadsOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Chat with the model, streaming its answers. /reset clears the history, /exit (or Ctrl-D) quits.

    With stdin not a terminal, each input line is one user turn (handy in scripts).
    """
    from rudder.engine.factory import load_engine
    from rudder.engine.info import EngineError
    from rudder.engine.model_file import ModelLoadError

    config = build_config(
        Path.cwd(),
        model=model,
        n_ctx=n_ctx,
        threads=threads,
        verbose=verbose,
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
    )
    try:
        engine = load_engine(config.model)
    except ModelLoadError as exc:
        raise fail(str(exc)) from None
    interactive = sys.stdin.isatty()
    info = engine.info
    if interactive:
        typer.secho(
            f"{info.name} ({info.architecture}, {info.n_layer} layers, n_embd {info.n_embd}, "
            f"ctx {info.n_ctx}) - /reset, /exit",
            dim=True,
        )
    messages = [{"role": "system", "content": system}] if system else []
    while True:
        try:
            line = input("> " if interactive else "")
        except EOFError:
            break
        text = line.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            break
        if text == "/reset":
            messages = messages[:1] if system else []
            continue
        messages.append({"role": "user", "content": text})
        try:
            generation = engine.stream(engine.format_chat(messages), config.sampling, overflow="truncate")
            for event in generation:
                typer.echo(event.text, nl=False)
        except EngineError as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt:
            generation.cancel()
        typer.echo()
        messages.append({"role": "assistant", "content": generation.text})
        stats = generation.stats
        typer.secho(
            f"[{stats.generated_tokens} tokens, {stats.decode_tok_s:.0f} tok/s, "
            f"prompt {stats.prompt_tokens_evaluated} new + {stats.prompt_tokens_cached} cached]",
            dim=True,
            err=not interactive,
        )
    engine.close()
