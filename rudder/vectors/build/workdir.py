"""A build's work folder: each finished stage's result, written whole (a temporary name, then a rename).

    <cache dir>/vector-builds/MODEL-KEY/NAME/
        recipe.json        the recipe as resolved for the model (another recipe: the folder starts over)
        vector.gguf        extract
        health.json        check (and the layers chosen)
        unsteered.json     the unsteered answers calibration and the prompt-only arm compare against
        calibration.json   the rows measured so far (a killed sweep resumes at the next scale)
        negative.json      the same for -scale
        prompt_only.json   the prompt-only arm
        seconds.json       time spent per stage (summed over resumed runs)

Nothing here is in the library: the vector, its card and plot are copied there (atomically) at the end,
and the folder is deleted.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from rudder.util.dirs import user_cache_dir
from rudder.vectors.files.card import CalibrationRow, Recipe
from rudder.vectors.files.formats import load_vector, save_vector
from rudder.vectors.kinds import VectorFormat
from rudder.vectors.meta import ModelIdentity
from rudder.vectors.trust.calibrate import Answer
from rudder.vectors.vector import SteeringVector

Model = TypeVar("Model", bound=BaseModel)


def write_atomic(path: Path, data: str | bytes) -> None:
    """`path` has the whole of `data` or its old content: never a part."""
    temporary = path.with_name(f".{path.name}.tmp")
    if isinstance(data, bytes):
        temporary.write_bytes(data)
    else:
        temporary.write_text(data, encoding="utf-8")
    temporary.replace(path)


def save_vector_atomic(vector: SteeringVector, path: Path) -> None:
    temporary = path.with_name(f".{path.stem}.tmp{path.suffix}")
    save_vector(vector, temporary, VectorFormat.RUDDER)
    temporary.replace(path)


class WorkDir:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def for_build(cls, model_key: str, name: str, base: Path | None = None) -> WorkDir:
        return cls((base or user_cache_dir() / "vector-builds") / model_key / name)

    def path(self, name: str) -> Path:
        return self.root / name

    def start(self, recipe: Recipe) -> bool:
        """Ready the folder for `recipe`; True when earlier work for the same recipe is there to resume."""
        wanted = recipe.model_dump_json(indent=1)
        recorded = self.path("recipe.json")
        if recorded.is_file() and recorded.read_text(encoding="utf-8") == wanted:
            return len(list(self.root.iterdir())) > 1
        self.discard()
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(recorded, wanted)
        return False

    def summary(self) -> str:
        """What an interrupted build left: `extracted, checked, 3 calibration rows`."""
        kept = [label for file, label in (("vector.gguf", "extracted"), ("health.json", "checked")) if self.has(file)]
        rows = len(self.rows("calibration.json")) + len(self.rows("negative.json"))
        if self.has("unsteered.json"):
            kept.append(f"unsteered answers and {rows} calibration row{'s' * (rows != 1)}")
        return ", ".join(kept) or "nothing finished yet"

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def has(self, name: str) -> bool:
        return self.path(name).is_file()

    def read(self, name: str, model: type[Model]) -> Model | None:
        path = self.path(name)
        return model.model_validate_json(path.read_text(encoding="utf-8")) if path.is_file() else None

    def write(self, name: str, value: BaseModel) -> None:
        write_atomic(self.path(name), value.model_dump_json(indent=1))

    def read_json(self, name: str) -> Any:
        path = self.path(name)
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def write_json(self, name: str, value: Any) -> None:
        write_atomic(self.path(name), json.dumps(value, indent=1))

    # -- the typed artefacts --------------------------------------------------------------------------------

    def vector(self, model: ModelIdentity) -> SteeringVector | None:
        path = self.path("vector.gguf")
        return load_vector(path, model=model) if path.is_file() else None

    def save_vector(self, vector: SteeringVector) -> None:
        save_vector_atomic(vector, self.path("vector.gguf"))

    def rows(self, name: str) -> list[CalibrationRow]:
        return [CalibrationRow.model_validate(row) for row in self.read_json(name) or []]

    def add_row(self, name: str, row: CalibrationRow) -> None:
        self.write_json(name, [*(self.read_json(name) or []), row.model_dump()])

    def unsteered(self) -> tuple[CalibrationRow, list[Answer]] | None:
        data = self.read_json("unsteered.json")
        if data is None:
            return None
        return CalibrationRow.model_validate(data["row"]), [Answer(**answer) for answer in data["answers"]]

    def save_unsteered(self, row: CalibrationRow, answers: list[Answer]) -> None:
        answers_json = [dataclasses.asdict(answer) for answer in answers]
        self.write_json("unsteered.json", {"row": row.model_dump(), "answers": answers_json})

    def add_seconds(self, stage: str, wall: float, cpu: float) -> None:
        spent = self.read_json("seconds.json") or {"wall": {}, "cpu": {}}
        for kind, seconds in (("wall", wall), ("cpu", cpu)):
            spent[kind][stage] = round(spent[kind].get(stage, 0.0) + seconds, 2)
        self.write_json("seconds.json", spent)

    def seconds(self) -> tuple[dict[str, float], dict[str, float]]:
        spent = self.read_json("seconds.json") or {"wall": {}, "cpu": {}}
        return spent["wall"], spent["cpu"]


class Clock:
    """Wall and CPU seconds since the last `lap` (what a stage cost)."""

    def __init__(self) -> None:
        self.lap()

    def lap(self) -> tuple[float, float]:
        now = (time.perf_counter(), time.process_time())
        spent = (now[0] - self._wall, now[1] - self._cpu) if hasattr(self, "_wall") else (0.0, 0.0)
        self._wall, self._cpu = now
        return spent
