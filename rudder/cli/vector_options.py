"""What the `rudder vectors` commands share: the --layers option, checked before a model loads, and the engine
they load (one place for both, so extract, check and calibrate refuse the same inputs the same way)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rudder.cli.options import build_config, fail
from rudder.engine import CaptureWeights

if TYPE_CHECKING:  # llama.cpp loads only in the commands that use an engine
    from rudder.engine.engine import Engine


def check_layers_syntax(value: str | None) -> str | None:
    """--layers is checked as soon as it is parsed, before a model loads; an empty value is an error
    (it never means 'every layer': leave the option out for the command's default)."""
    if value is None:
        return None
    if not value.strip():
        raise fail("--layers: empty; give layers such as 10-15 or 3,5,7-9, or leave the option out for the default")
    from rudder.modes.mode import parse_layers

    try:
        parse_layers(value)
    except ValueError as exc:
        raise fail(f"--layers: {exc}") from None
    return value


LayersOpt = Annotated[
    str | None, typer.Option("--layers", "-l", help="e.g. 10-15 or 3,5,7-9", callback=check_layers_syntax)
]


def engine_for(
    model: Path | None,
    n_ctx: int | None = None,
    threads: int | None = None,
    weights: CaptureWeights | None = None,
    verbose: bool = False,
) -> Engine:
    from rudder.engine.factory import load_engine
    from rudder.engine.model_file import ModelLoadError

    config = build_config(Path.cwd(), model=model, n_ctx=n_ctx, threads=threads, weights=weights, verbose=verbose)
    try:
        return load_engine(config.model)
    except ModelLoadError as exc:
        raise fail(str(exc)) from None


def layers_or(spec: str | None, default: list[int]) -> list[int]:
    from rudder.modes.mode import parse_layers

    if spec is not None and not spec.strip():
        raise fail("--layers: empty; give layers such as 10-15 or 3,5,7-9, or leave the option out for the default")
    try:
        parsed = parse_layers(spec)
    except ValueError as exc:
        raise fail(f"--layers: {exc}") from None
    return list(parsed) if parsed is not None else default
