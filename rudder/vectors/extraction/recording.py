"""Activation recording: per agent step, the residual at chosen layers at the first token of the thought and
at the first token of the tool call, kept beside the trajectory for building directions from runs.

One run = one compressed `.npz` (float16 rows, a few KB per step):

    layers      int32 (L,)                  the layers recorded (graph node `{site}-{layer}`)
    steps       int32 (S,)                  the step index of each row
    thought     float16 (S, L, n_embd)      residual at the thought's first token (NaN: not reached)
    call        float16 (S, L, n_embd)      residual at the tool call's first token (NaN: not reached)
    meta        a JSON string               the run (task, arm, epoch, seed, split, passed) and per step
                                            its kind, tool, path and labels (vectors/runlabels.py)

The rows are read by the Steerer's taps (behind the steering, generated tokens only) and picked by the
step watcher (vectors/stepwatch.py); nothing here touches llama.cpp.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

POSITIONS = ("thought", "call")
SUFFIX = ".activations.npz"


class RecordingError(ValueError):
    """A recording file is missing, damaged or not what the caller needs; the message names the file."""


@dataclass
class ActivationRecorder:
    layers: tuple[int, ...]
    n_embd: int
    site: str = "l_out"
    rows: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)  # step -> position -> (L, n_embd)

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(f"{self.site}-{layer}" for layer in self.layers)

    def add(self, step: int, position: str, residual: dict[str, np.ndarray]) -> bool:
        """Keep the rows the taps hold now for `step` at `position`; False when a layer was not read."""
        if position not in POSITIONS:
            raise ValueError(f"position must be one of {POSITIONS}, got {position!r}")
        if any(node not in residual for node in self.nodes):
            return False
        self.rows.setdefault(step, {})[position] = np.stack([residual[node] for node in self.nodes])
        return True

    def save(self, path: Path, meta: dict[str, Any]) -> Path:
        steps = sorted(self.rows)
        shape = (len(steps), len(self.layers), self.n_embd)
        arrays = {position: np.full(shape, np.nan, dtype=np.float16) for position in POSITIONS}
        for i, step in enumerate(steps):
            for position, rows in self.rows[step].items():
                arrays[position][i] = rows.astype(np.float16)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as handle:  # np.savez_compressed would append .npz to a str path
            np.savez_compressed(
                handle,
                layers=np.asarray(self.layers, dtype=np.int32),
                steps=np.asarray(steps, dtype=np.int32),
                meta=np.asarray(json.dumps({"site": self.site, **meta}, default=str)),
                **arrays,
            )
        tmp.replace(path)  # a half-written file never has the final name
        return path


@dataclass
class Recording:
    """One run's recording, read back."""

    path: Path
    layers: tuple[int, ...]
    steps: np.ndarray
    thought: np.ndarray
    call: np.ndarray
    meta: dict[str, Any]

    def rows(self, position: str, layer: int) -> np.ndarray:
        """(S, n_embd) float32 at one layer (NaN rows where the position was not reached)."""
        if layer not in self.layers:
            raise RecordingError(f"{self.path}: layer {layer} was not recorded (it has {list(self.layers)})")
        data = self.thought if position == "thought" else self.call
        return data[:, self.layers.index(layer)].astype(np.float32)

    def step_meta(self) -> list[dict[str, Any]]:
        by_index = {int(s.get("index", -1)): s for s in self.meta.get("steps", [])}
        return [by_index.get(int(step), {"index": int(step)}) for step in self.steps]


def load_recording(path: Path) -> Recording:
    try:
        with np.load(path, allow_pickle=False) as data:
            layers = tuple(int(x) for x in data["layers"])
            meta = json.loads(str(data["meta"]))
            return Recording(path, layers, data["steps"].copy(), data["thought"].copy(), data["call"].copy(), meta)
    except (OSError, KeyError, ValueError) as exc:
        raise RecordingError(f"{path}: not an activation recording ({exc})") from None


def find_recordings(root: Path) -> list[Path]:
    """Every recording under `root` (a file or a folder, searched recursively), sorted."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise RecordingError(f"{root}: no such file or folder")
    return sorted(root.rglob(f"*{SUFFIX}"))


def recording_path(trajectory: Path) -> Path:
    """Beside a trajectory: RUN.jsonl -> RUN.activations.npz."""
    return trajectory.with_name(trajectory.name.removesuffix(".jsonl") + SUFFIX)


def parse_layers_arg(spec: str, n_layer: int) -> tuple[int, ...]:
    """--record-activations: "14", "10,14,18" or "10-18"; every layer must exist in the model."""
    layers: list[int] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        start, _, end = part.partition("-")
        try:
            first, last = int(start), int(end or start)
        except ValueError:
            raise RecordingError(f"--record-activations {spec!r}: expected layers like 14, 10,14,18 or 10-18") from None
        layers.extend(range(first, last + 1))
    bad = [layer for layer in layers if not 0 <= layer < n_layer]
    if not layers or bad:
        raise RecordingError(f"--record-activations {spec!r}: layers must lie in 0..{n_layer - 1}")
    return tuple(sorted(set(layers)))


def steps_meta(steps: Sequence[dict[str, Any]], labels: Sequence[list[str]]) -> list[dict[str, Any]]:
    """The per-step part of a recording's meta: index, kind, tool, path, labels."""
    out = []
    for step, step_labels in zip(steps, labels, strict=True):
        args = step.get("arguments") or {}
        path = args.get("path") if isinstance(args, dict) else None
        out.append(
            {"index": step.get("index"), "kind": step.get("kind"), "tool": step.get("tool"), "path": path}
            | {"labels": list(step_labels)}
        )
    return out
