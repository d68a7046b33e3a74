"""The vector library: named vectors found for the loaded model.

Search order (first match wins):
    <user config dir>/vectors/       vectors you extracted (`rudder vectors extract --save NAME`), and one
                                     folder per model (`<user config dir>/vectors/MODEL-KEY/`) that
                                     `rudder vectors build` fills for the model it loaded
    rudder/vectors/library/          vectors shipped with Rudder, with their measured effects
    <repo>/.rudder/vectors/          the project's own vectors
A repository may add vectors but not replace yours or the shipped ones: a repo vector whose name is
already taken is ignored with a warning (the repo, or an agent working in it, could have written it).
A library file is a Rudder-format GGUF; its metadata names the vector and the model it was made for,
so one folder can hold vectors for several models; a model folder holds only its model's (a vector for
another model found there is skipped with a warning). A mode refers to vectors by name: the loaded
model's vector of that name (`resolve_vector`), never another model's.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rudder.util.dirs import REPO_DIR, user_config_dir
from rudder.vectors.files.summary import summarize
from rudder.vectors.meta import ModelIdentity, VectorError

if TYPE_CHECKING:
    from rudder.vectors.vector import SteeringVector

SHIPPED_DIR = Path(__file__).parent.parent / "library"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LibraryEntry:
    name: str
    path: Path
    model: ModelIdentity


def model_key(model: ModelIdentity) -> str:
    """The folder name of a model's vectors: its name as a slug plus 8 hex digits of its layout hash
    (`smollm2-135m-instruct-1a2b3c4d`), so two models with one name and different shapes do not share one."""
    slug = re.sub(r"[^a-z0-9]+", "-", (model.name or model.architecture).lower()).strip("-")[:48] or "model"
    tag = model.layout_hash[:8] if model.layout_hash else f"{model.n_layer}x{model.n_embd}"
    return f"{slug}-{tag}"


def model_library_dir(model: ModelIdentity) -> Path:
    """Where `rudder vectors build` puts a model's vectors (and their cards and plots)."""
    return user_config_dir() / "vectors" / model_key(model)


def library_dirs(repo: Path | None) -> list[Path]:
    dirs = [user_config_dir() / "vectors", SHIPPED_DIR]
    return [*dirs, repo / REPO_DIR / "vectors"] if repo is not None else dirs


def _matches(model: ModelIdentity, wanted: ModelIdentity) -> bool:
    if (model.architecture, model.n_embd, model.n_layer) != (wanted.architecture, wanted.n_embd, wanted.n_layer):
        return False
    return not (model.layout_hash and wanted.layout_hash) or model.layout_hash == wanted.layout_hash


def load_vector(path: Path, *, model: ModelIdentity | None = None) -> SteeringVector:
    from rudder.vectors.files.formats import load_vector as load  # numpy and gguf: only when a vector is used

    return load(path, model=model)


def _identify(path: Path) -> tuple[str, ModelIdentity] | None:
    """A library file's vector name and model: from its header when it is a well-formed Rudder file."""
    summary = summarize(path)
    if summary is not None:
        return summary.meta.name, summary.meta.model
    try:
        vector = load_vector(path)
    except VectorError as exc:
        _warn_once(path, str(exc))
        return None
    return vector.meta.name, vector.meta.model


_warned: set[tuple[str, int, int]] = set()


def _warn_once(path: Path, why: str) -> None:
    """One warning per bad library file per process (a library is scanned once per vector a mode names)."""
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = (str(path), 0, 0)
    if key not in _warned:
        _warned.add(key)
        log.warning("warning: skipped %s in the vector library: %s", path, why.removeprefix(f"{path}: "))


def _library_files(directory: Path) -> list[tuple[Path, str | None]]:
    """The vector files of one library directory, each with the model folder it sits in (None: top level).
    A model folder's own files come first: a build for this model outranks a loose file of the same name."""
    if not directory.is_dir():
        return []
    nested = [(p, p.parent.name) for p in sorted(directory.glob("*/*.gguf")) if not p.parent.name.startswith(".")]
    return [*nested, *((p, None) for p in sorted(directory.glob("*.gguf")))]


def list_library(repo: Path | None, model: ModelIdentity | None = None) -> list[LibraryEntry]:
    entries = []
    for directory in library_dirs(repo):
        for path, folder in _library_files(directory):
            found = _identify(path)
            if found is None:
                continue
            if folder is not None and model_key(found[1]) != folder:
                _warn_once(path, f"a vector for {_model_name(found[1])}, in the folder of another model ({folder})")
                continue
            if model is None or _matches(found[1], model):
                entries.append(LibraryEntry(found[0], path, found[1]))
    return entries


def _model_name(model: ModelIdentity) -> str:
    return f"{model.name or model.architecture} ({model.n_layer} layers, n_embd {model.n_embd})"


def resolve_vector(name: str, model: ModelIdentity, repo: Path | None = None) -> LibraryEntry | None:
    """The library vector `name` made for `model` (user's model folder, user, shipped, then repo), or None:
    never a vector of another model. Its card (`card_path(entry.path)`) has its health and calibration."""
    return next((entry for entry in list_library(repo, model) if entry.name == name), None)


class VectorResolver:
    """Turns a mode's `vector = "..."` into a SteeringVector for the loaded model (cached)."""

    def __init__(self, model: ModelIdentity, repo: Path | None, base_dir: Path | None = None) -> None:
        self.model, self.repo, self.base_dir = model, repo, base_dir
        self._cache: dict[str, SteeringVector] = {}
        self.sources: dict[str, Path] = {}  # ref -> the file it resolved to (for run manifests)

    def __call__(self, ref: str) -> SteeringVector:
        if ref not in self._cache:
            self._cache[ref] = self._load(ref)
        return self._cache[ref]

    def locate(self, ref: str) -> Path | None:
        """This model's library file named `ref`, or None (a mode then runs without it: modes/permodel.py)."""
        entry = resolve_vector(ref, self.model, self.repo)
        return entry.path if entry is not None else None

    def _load(self, ref: str) -> SteeringVector:
        looks_like_path = "/" in ref or ref.endswith((".gguf", ".f32", ".json"))
        if looks_like_path:
            path = Path(ref).expanduser()
            if not path.is_absolute() and self.base_dir is not None:
                path = self.base_dir / path
            vector = load_vector(path, model=self.model)
            vector.check_model(self.model, source=str(path))
            self.sources[ref] = path.resolve()
            return vector
        found = [entry for entry in list_library(self.repo, self.model) if entry.name == ref]
        if found:
            for ignored in found[1:]:
                if self.repo is not None and self.repo.resolve() in ignored.path.resolve().parents:
                    log.warning(
                        "warning: %s ignored: a repository cannot replace the vector %r from %s",
                        ignored.path,
                        ref,
                        found[0].path,
                    )
            self.sources[ref] = found[0].path.resolve()
            return load_vector(found[0].path, model=self.model)
        others = sorted({e.name for e in list_library(self.repo, self.model)})
        raise VectorError(
            f"no vector named {ref!r} for {self.model.name or self.model.architecture} in the library "
            f"({', '.join(str(d) for d in library_dirs(self.repo))}); available: {', '.join(others) or 'none'}. "
            f"Build it with `rudder vectors build --only {ref}` (a recipe of that name) or extract one with "
            "`rudder vectors extract DATASET --save NAME`."
        )


_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_vector_name(name: str) -> str:
    """A library name is a plain file name: no directories, no `..`, no leading dot (it becomes NAME.gguf)."""
    if not _PLAIN_NAME.match(name) or ".." in name:
        raise VectorError(
            f"{name!r} is not a plain name; a vector name is 1-64 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (no '/', no '..')"
        )
    return name


def user_library_path(name: str) -> Path:
    """Where `extract --save NAME` writes: the user's vector library (never anywhere else)."""
    return user_config_dir() / "vectors" / f"{check_vector_name(name)}.gguf"


def find_vector(ref: str, repo: Path | None, model: ModelIdentity | None = None) -> Path:
    """The file a command-line VECTOR means: a path (it has a '/' or a vector file suffix, or exists),
    else a library name (for `model` when given, else for any model), searched in `library_dirs` order."""
    path = Path(ref).expanduser()
    if "/" in ref or path.suffix in (".gguf", ".f32", ".json") or path.is_file():
        return path  # a missing file is the loader's clear error
    entries = list_library(repo, model)
    for entry in entries:
        if entry.name == ref:
            return entry.path
    names = ", ".join(sorted({e.name for e in entries})) or "none"
    raise VectorError(
        f"no vector file or library vector named {ref!r}; available: {names} "
        f"(library: {', '.join(str(d) for d in library_dirs(repo))})"
    )
