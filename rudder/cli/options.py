"""Options shared by several commands, declared once."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rudder.cli import say
from rudder.engine import CaptureWeights

if TYPE_CHECKING:  # pydantic and the config models load only when a command needs them (not for --help)
    from rudder.config import RudderConfig

def finite(ctx: typer.Context, param: typer.CallbackParam, value: float | None) -> float | None:
    """A float option must be a number: typer takes "nan" and "inf", which no scale or temperature means."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"expected a finite number, got {value}")
    return value


ModelOpt = Annotated[
    Path | None,
    typer.Option("--model", "-m", help="GGUF model file [default: the embedded SmolLM2-135M-Instruct]"),
]
RepoOpt = Annotated[
    Path,
    typer.Option("--repo", "-C", help="the git repository to work in", file_okay=False, exists=True),
]
CtxOpt = Annotated[int | None, typer.Option("--n-ctx", min=1, help="context window in tokens [default: 8192]")]
ThreadsOpt = Annotated[
    int | None,
    typer.Option("--threads", min=1, help="CPU threads [default: all cores but one, or $RUDDER_THREADS]"),
]
TempOpt = Annotated[
    float | None,
    typer.Option("--temperature", "-t", min=0.0, callback=finite, help="0 = greedy [default: 0]"),
]
MaxTokOpt = Annotated[int | None, typer.Option("--max-tokens", min=1, help="tokens per answer")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="sampling seed [default: 0]")]
WeightsOpt = Annotated[
    CaptureWeights | None,
    typer.Option(
        "--weights",
        help="what capture reads: the model's own weights (native), an f16/bf16 copy made once and cached, or auto "
        "= a copy for small Q4_1/Q5_1 models on the CPU, about 2x faster, vectors within the Q8 activation "
        "rounding of native ones [default: auto, or the config's model.capture_weights]",
    ),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", help="show llama.cpp's log")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one clear error line and return the exit to raise."""
    say.error(message)
    return typer.Exit(code)


warn = say.warning  # a problem that does not stop the command (plain text on stderr, never markup)
warn_mode_problems = say.warn_mode_problems


def build_config(
    repo: Path | None,
    *,
    model: Path | None = None,
    n_ctx: int | None = None,
    threads: int | None = None,
    weights: CaptureWeights | None = None,
    verbose: bool = False,
    temperature: float | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
    agent: dict[str, Any] | None = None,
) -> RudderConfig:
    from rudder.config import ConfigError, load_config

    overrides = {
        "model": {
            "model_path": str(model) if model else None,
            "n_ctx": n_ctx,
            "n_threads": threads,
            "capture_weights": weights,
            "verbose": verbose or None,
        },
        "sampling": {"temperature": temperature, "max_tokens": max_tokens, "seed": seed},
        "agent": agent or {},
    }
    try:
        config = load_config(repo, overrides)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    if config.model.n_threads is None:
        from rudder.engine.config import default_threads

        try:
            default_threads()  # $RUDDER_THREADS is read there: a bad value is refused before the model loads
        except ValueError as exc:
            raise fail(str(exc)) from None
    for note in config.notes:  # what the repo's .rudder.toml may not change
        say.warning(note)
    return config
