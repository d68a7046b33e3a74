"""`rudder vectors extract --from-runs` and `rudder vectors gate`: directions and gate thresholds from
recorded agent runs (`--record-activations`). Neither loads the model: the recordings hold the residuals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import typer
from rich.console import Console

from rudder.cli.display import plain
from rudder.cli.options import fail
from rudder.vectors.meta import VectorError

console = Console()
StepPosition = Literal["thought", "call"]


def _recordings(root: Path, split: str | tuple[str, ...], allow_unsplit: bool) -> list:
    from rudder.vectors.extraction.fromruns import check_split
    from rudder.vectors.extraction.recording import RecordingError, find_recordings, load_recording

    try:
        recordings = [load_recording(p) for p in find_recordings(root)]
        if not recordings:
            raise RecordingError(f"{root}: no *.activations.npz (record runs with --record-activations LAYERS)")
        check_split(recordings, split, allow_unsplit=allow_unsplit)
    except RecordingError as exc:
        raise fail(str(exc)) from None
    return recordings


def _common_layers(recordings: list, spec: str | None) -> list[int]:
    from rudder.modes.mode import parse_layers

    common = sorted(set.intersection(*(set(r.layers) for r in recordings)))
    if spec is None:
        return common
    try:
        wanted = list(parse_layers(spec) or [])
    except ValueError as exc:
        raise fail(f"--layers: {exc}") from None
    missing = sorted(set(wanted) - set(common))
    if missing:
        raise fail(f"--layers: {missing} not recorded in every run (recorded: {common})")
    return wanted


def extract_from_runs(
    from_runs: Path,
    *,
    output: Path | None,
    save: str | None,
    labels: str,
    position: StepPosition,
    layers: str | None,
    dev: Path | None,
    allow_unsplit: bool,
    description: str,
    clean: bool = False,
) -> None:
    """Mean difference per label (Gram-Schmidt over several), health on dev, one vector + card per label."""
    from rudder.engine.identity import ModelIdentity
    from rudder.vectors.extraction.fromruns import collect, contrast, directions, projections, separation
    from rudder.vectors.extraction.runlabels import LABELS
    from rudder.vectors.files.card import DevSeparation, LabelCount, RunsRecipe, VectorCard, save_card
    from rudder.vectors.files.formats import save_vector
    from rudder.vectors.files.library import user_library_path
    from rudder.vectors.vector import SteeringVector, VectorMeta

    label_list = [x.strip() for x in labels.split(",") if x.strip()]
    unknown = [x for x in label_list if x not in LABELS]
    if unknown or not label_list:
        raise fail(f"--labels {labels!r}: choose from {', '.join(LABELS)}")
    if output is None and save is None:
        raise fail("say where the vector goes: --output FILE and/or --save NAME")
    train = _recordings(from_runs, "train", allow_unsplit)
    dev_recs = _recordings(dev, "dev", allow_unsplit) if dev is not None else []
    chosen = _common_layers(train + dev_recs, layers)
    identities = {str(r.meta.get("model")) for r in train}
    if len(identities) != 1 or not train[0].meta.get("model"):
        raise fail(f"{from_runs}: the runs were recorded with different or unknown models ({len(identities)} seen)")
    model = ModelIdentity.model_validate(train[0].meta["model"])
    try:
        steps = collect(train, position, chosen)
        counts = [
            LabelCount(label=x, positives=int(p.sum()), negatives=int(n.sum()))
            for x in label_list
            for p, n in [contrast(steps, x, clean=clean)]
        ]
        for count in counts:
            console.print(
                f"{count.label}: {count.positives} drifted vs {count.negatives} contrast steps ({len(steps)} steps)"
            )
        found = directions(steps, label_list, chosen, clean=clean)
    except (ValueError, VectorError) as exc:
        raise fail(f"{from_runs}: {exc}") from None
    dev_steps = collect(dev_recs, position, chosen) if dev_recs else None
    norms = {layer: float(np.linalg.norm(steps.rows[layer], axis=1).mean()) for layer in chosen}
    base = save or (output.name.split(".")[0] if output else "drift")
    for label in label_list:
        name = base if len(label_list) == 1 else f"{base}-{label}"
        health: list[DevSeparation] = []
        if dev_steps is not None:
            pos, neg = contrast(dev_steps, label, clean=clean, pooled=True)  # dev: one epoch, every task
            for layer in chosen:
                s = separation(projections(dev_steps.rows[layer], found[label][layer]), pos, neg)
                health.append(
                    DevSeparation(
                        layer=layer, auroc=s.auroc, null95=s.null95, p=s.p, positives=s.positives, negatives=s.negatives
                    )
                )
        usable = [h for h in health if not np.isnan(h.auroc)]
        probe = max(usable, key=lambda h: h.auroc).layer if usable else None
        meta = VectorMeta(
            name=name,
            description=description
            or f"towards {label} steps of recorded agent runs (at the {position}'s first token)",
            model=model,
            method="mean-diff-runs",
            dataset=str(from_runs),
            layer_norms=norms,
        )
        vector = SteeringVector(meta, found[label])
        card = VectorCard(
            runs=RunsRecipe(
                label=label,
                labels=counts,
                position=position,
                layers=chosen,
                split="train" if not allow_unsplit else "train-or-unsplit",
                contrast="clean" if clean else "calibrated",
                runs=steps.runs,
                dev_runs=dev_steps.runs if dev_steps else [],
                dev=health,
                probe_layer=probe,
            )
        )
        targets = (
            [output if len(label_list) == 1 else output.with_name(f"{name}{''.join(output.suffixes)}")]
            if output
            else []
        )
        if save:
            targets.append(user_library_path(name))
        for target in targets:
            save_vector(vector, target)
            save_card(target, card)
            console.print(plain(f"wrote {target} (+ card)"))
        for h in health:
            verdict = "separates" if h.p < 0.05 else "no better than chance"
            console.print(
                f"  {label} layer {h.layer}: dev AUROC {h.auroc:.3f} (null95 {h.null95:.3f}, "
                f"p {h.p:.3f}; {h.positives}+{h.negatives} steps): {verdict}"
            )


def gate_cmd(
    vector: Annotated[str, typer.Argument(help="a vector made by extract --from-runs (file or library name)")],
    from_runs: Annotated[Path, typer.Option("--from-runs", help="recorded runs of the DEV split")],
    label: Annotated[
        str | None, typer.Option(help="steps that should fire the gate [default: the vector's label]")
    ] = None,
    layer: Annotated[int | None, typer.Option(help="layer read [default: the card's probe layer]")] = None,
    max_fpr: Annotated[
        float | None, typer.Option("--max-fpr", min=0.0, max=1.0, help="fire on at most this share of calibrated steps")
    ] = None,
    allow_unsplit: Annotated[
        bool, typer.Option("--allow-unsplit", help="accept runs of a suite without splits")
    ] = False,
) -> None:
    """Calibrate a conditional-steering gate's threshold on recorded dev runs; written into the card.

    The threshold is on the cosine with the direction that best separates the label's steps from
    calibrated ones."""
    from rudder.vectors.extraction.fromruns import collect, contrast, projections
    from rudder.vectors.files.card import GateCalibration, load_card, save_card
    from rudder.vectors.files.formats import load_vector
    from rudder.vectors.files.library import find_vector
    from rudder.vectors.steering.gate import calibrate_threshold

    try:
        path = find_vector(vector, Path.cwd())
        loaded = load_vector(path)
        card = load_card(path)
    except VectorError as exc:
        raise fail(str(exc)) from None
    if card.runs is None:
        raise fail(f"{path}: its card has no runs recipe (make it with rudder vectors extract --from-runs)")
    label = label or card.runs.label
    layer = layer if layer is not None else (card.runs.probe_layer or max(loaded.layers))
    if layer not in loaded.layers:
        raise fail(f"--layer {layer}: the vector has layers {loaded.layers}")
    dev = _recordings(from_runs, "dev", allow_unsplit)
    steps = collect(dev, card.runs.position, [layer])
    pos, neg = contrast(steps, label, clean=card.runs.contrast == "clean", pooled=True)
    values = projections(steps.rows[layer], loaded.directions[layer])
    try:
        found = calibrate_threshold(values[pos], values[neg], above=True, max_fpr=max_fpr)
    except ValueError as exc:
        raise fail(f"{from_runs}: {exc}") from None
    card.gate = GateCalibration(
        label=label,
        layer=layer,
        position=card.runs.position,
        threshold=found.threshold,
        above=True,
        tpr=found.tpr,
        fpr=found.fpr,
        positives=found.positives,
        negatives=found.negatives,
        runs=steps.runs,
    )
    save_card(path, card)
    console.print(
        f"gate on {loaded.meta.name} at layer {layer}: fire above {found.threshold:+.4f} "
        f"(dev: fires on {found.tpr:.0%} of {found.positives} {label} steps, "
        f"{found.fpr:.0%} of {found.negatives} calibrated)"
    )
    console.print(
        f'mode file: when = {{ axis = "{vector}", above = "calibrated" }}   (or above = {found.threshold:.4f})'
    )
