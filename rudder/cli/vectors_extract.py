"""`rudder vectors extract`: a steering vector from a contrastive dataset or from recorded agent runs."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from rudder.cli.display import plain
from rudder.cli.options import CtxOpt, ModelOpt, ThreadsOpt, VerboseOpt, WeightsOpt, fail, warn
from rudder.cli.progress import LateProgress
from rudder.cli.vector_options import LayersOpt, engine_for, layers_or
from rudder.vectors.kinds import SteeringOp, VectorFormat
from rudder.vectors.meta import VectorError

Method = Literal["mean-diff", "pca", "cvector-mean"]  # = extraction.extract.Method, without loading it
ExtractPosition = Literal["last", "mean", "generated"]
console = Console()


def extract_cmd(
    dataset: Annotated[
        Path | None, typer.Argument(help="contrastive JSONL (see rudder/vectors/extraction/dataset.py)", exists=True)
    ] = None,
    from_runs: Annotated[
        Path | None,
        typer.Option("--from-runs", help="recorded agent runs of the TRAIN split (--record-activations) instead"),
    ] = None,
    labels: Annotated[
        str, typer.Option(help="--from-runs: fail-run, loop, premature-finish, off-target (several: Gram-Schmidt)")
    ] = "fail-run",
    step_position: Annotated[
        str, typer.Option("--step-position", help="--from-runs: thought or call (the step's first token of it)")
    ] = "thought",
    dev: Annotated[
        Path | None, typer.Option("--dev", help="--from-runs: recorded DEV runs for the health check")
    ] = None,
    allow_unsplit: Annotated[
        bool, typer.Option("--allow-unsplit", help="--from-runs: accept runs of a suite without splits")
    ] = False,
    contrast: Annotated[
        str,
        typer.Option(
            help="--from-runs: behaviour steps against 'calibrated' (passing runs, no label) or 'clean' steps (any run)"
        ),
    ] = "calibrated",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="where to write the vector")] = None,
    save: Annotated[str | None, typer.Option("--save", help="name it and put it in your vector library")] = None,
    layers: LayersOpt = None,
    method: Annotated[
        Method,
        typer.Option(
            help="mean-diff (CAA), pca, or cvector-mean (llama-cvector-generator's --method mean: every token "
            "diffed, unit length)"
        ),
    ] = "mean-diff",
    site: Annotated[
        str | None, typer.Option(help="graph node prefix to read [default: the model profile's, l_out or ffn_out]")
    ] = None,
    op: Annotated[
        SteeringOp, typer.Option(help="how the vector will be applied: add, or project-out/ablate (unit rows)")
    ] = SteeringOp.ADD,
    position: Annotated[ExtractPosition, typer.Option(help="which tokens' activations: last, mean or generated")] = (
        "last"
    ),
    limit: Annotated[int | None, typer.Option(help="use only the first N pairs")] = None,
    description: Annotated[str, typer.Option(help="what the vector does")] = "",
    model: ModelOpt = None,
    n_ctx: CtxOpt = None,
    threads: ThreadsOpt = None,
    weights: WeightsOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Extract a steering vector from a contrastive dataset (positive minus negative activations).

    Prompts are read many per decode call, prompts that share a beginning share its computation, and
    llama.cpp stops right after the deepest layer asked for. A small Q4_1/Q5_1 model is read through a
    BF16/F16 copy of its weights (--weights; made once, cached in ~/.cache/rudder/weights).
    """
    from rudder.engine.batch import BatchError
    from rudder.engine.engine import EngineError
    from rudder.engine.hook import HookError
    from rudder.vectors.extraction.dataset import load_dataset
    from rudder.vectors.extraction.extract import extract
    from rudder.vectors.files.formats import save_vector
    from rudder.vectors.files.library import user_library_path

    if from_runs is not None:
        from rudder.cli.vectors_runs import extract_from_runs

        if dataset is not None:
            raise fail("give a DATASET or --from-runs LOGDIR, not both")
        if contrast not in ("calibrated", "clean"):
            raise fail(f"--contrast {contrast!r}: expected calibrated or clean")
        if step_position not in ("thought", "call"):
            raise fail(f"--step-position {step_position!r}: expected thought or call")
        extract_from_runs(
            from_runs,
            output=output,
            save=save,
            labels=labels,
            position=step_position,  # type: ignore[arg-type]
            layers=layers,
            dev=dev,
            allow_unsplit=allow_unsplit,
            description=description,
            clean=contrast == "clean",
        )
        return
    if dataset is None:
        raise fail("give a contrastive DATASET (JSONL) or --from-runs LOGDIR")
    if output is None and save is None:
        raise fail("say where the vector goes: --output FILE and/or --save NAME")
    try:
        saved = user_library_path(save) if save else None
    except VectorError as exc:
        raise fail(f"--save: {exc}") from None
    try:
        data = load_dataset(dataset, limit)  # a bad file is refused before the model loads
    except VectorError as exc:
        raise fail(str(exc)) from None
    engine = engine_for(model, n_ctx, threads, weights, verbose)
    try:
        chosen = layers_or(layers, list(range(1, engine.info.n_layer - 1)))
        started = time.perf_counter()
        stop = _StopBetweenPrompts()
        with LateProgress(f"reading {len(data)} pairs", 2 * len(data)) as bar:

            def progress(done: int, total: int) -> None:
                stop.check()
                bar.update(done, total)

            vector = extract(
                engine,
                data,
                chosen,
                method=method,
                site=site or engine.profile.sites.default_site,
                position=position,
                op=op,
                name=save or dataset.stem,
                description=description,
                progress=progress,
            )
            stop.restore()
        seconds = time.perf_counter() - started
        targets: list[tuple[Path, VectorFormat | None]] = [(output, None)] if output else []  # .f32 → ds4
        if saved:
            targets.append((saved, VectorFormat.RUDDER))
        for target, fmt in targets:
            save_vector(vector, target, fmt)
            console.print(plain(f"wrote {target}"))
        read = "the model's own weights" if vector.meta.weights == "native" else f"a {vector.meta.weights} copy"
        console.print(f"{len(data)} pairs, layers {chosen[0]}..{chosen[-1]}, {method}, {read}, {seconds:.1f} s")
        if engine.weights_note:
            warn(engine.weights_note)
    except (VectorError, EngineError, BatchError, HookError) as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted; no vector written", code=130) from None
    finally:
        engine.close()


class _StopBetweenPrompts:
    """Ctrl-C during extraction stops it between two prompts: a KeyboardInterrupt raised inside llama.cpp's
    capture callback would be swallowed by ctypes and leave a half-captured batch behind."""

    def __init__(self) -> None:
        self.pressed = False
        self.previous = signal.signal(signal.SIGINT, self._press)

    def _press(self, signum: int, frame: object) -> None:
        self.pressed = True

    def check(self) -> None:
        if self.pressed:
            self.restore()
            raise KeyboardInterrupt

    def restore(self) -> None:
        signal.signal(signal.SIGINT, self.previous)
