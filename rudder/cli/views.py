"""What `rudder modes list` and `rudder vectors show` print, without typer.

The typer commands (modes.py, vectors.py) call these, and so does quick.py, which answers those two
commands before typer loads: the same code path, one output. Errors are raised (ModeError, VectorError)
for the caller to report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rudder.cli import say
from rudder.cli.display import plain
from rudder.vectors.meta import VectorError

if TYPE_CHECKING:
    from rudder.vectors.meta import ModelIdentity, VectorMeta


def list_modes(console: Console, repo: Path, twins: bool, model: Path | None = None) -> None:
    """Every mode available in `repo`: a table of name, hotkey, its vectors as the current model has them
    (`--model`, else the config's, else the embedded one: read from the GGUF header, not loaded) and
    description."""
    from rudder.modes.permodel import vector_status
    from rudder.modes.registry import scan_modes
    from rudder.vectors.files.library import VectorResolver

    root = repo.resolve()
    scan = scan_modes(root)
    say.warn_mode_problems(scan.problems)
    identity = current_model(root, model)
    locate = VectorResolver(identity, root).locate if identity is not None else None
    title = f"vectors for {identity.name or identity.architecture}" if identity is not None else "vectors"
    table = Table("mode", "key", title, "description")
    for name, mode in scan.modes.items():
        if "/" in name and not twins:
            continue
        vectors = vector_status(mode, locate) if locate is not None else mode.vector_names()
        table.add_row(plain(name), mode.hotkey or "", plain("\n".join(vectors) or "-"), plain(mode.description))
    console.print(table)
    if not twins:
        console.print("each mode M also runs as M/prompt-only and M/vector-only (--twins lists them)")


def current_model(repo: Path | None, model: Path | None) -> ModelIdentity | None:
    """The identity of the model a command would load (flag, config, embedded), from its header; None with
    a warning when it cannot be read (a listing still shows what it can)."""
    from rudder.config import ConfigError, load_config
    from rudder.engine.gguf_header import model_identity
    from rudder.engine.model_file import ModelLoadError, check_gguf, embedded_model_path

    try:
        config = load_config(repo, {"model": {"model_path": str(model)}} if model else None)
        return model_identity(check_gguf(config.model.model_path or embedded_model_path()))
    except (ConfigError, ModelLoadError) as exc:
        say.warning(f"{exc}; showing the vectors modes name, not what the model has")
        return None


def repo_around_cwd() -> Path | None:
    """The git repository around the current directory (for its .rudder/vectors), if any."""
    from rudder.tools.base import ToolError
    from rudder.tools.gitops import find_repo_root

    try:
        return find_repo_root(Path.cwd())
    except ToolError:
        return None


def find_vector_file(ref: str, model: ModelIdentity | None = None) -> Path:
    """A VECTOR argument: a file, else a library name (the one for `model` when there is one)."""
    from rudder.vectors.files.formats_common import require_file
    from rudder.vectors.files.library import find_vector

    def search(wanted: ModelIdentity | None) -> Path:
        try:  # the user's and the shipped library come first: the repository (git) only when needed
            return find_vector(ref, None, wanted)
        except VectorError:
            return find_vector(ref, repo_around_cwd(), wanted)

    path = Path(ref).expanduser()
    if "/" in ref or path.suffix in (".gguf", ".f32", ".json") or path.is_file():
        path = find_vector(ref, None)  # a path: no need to look for the repository's library
    else:
        if model is not None:
            try:
                return search(model)
            except VectorError:
                pass  # named, but for another model: loading it says which
        path = search(None)
    require_file(path)  # before anything else is read for it (its card, a dataset, the model)
    return path


def show_vector(console: Console, ref: str) -> None:
    """A vector's metadata and per-layer sizes."""
    from rudder.vectors.files.summary import summarize

    path = find_vector_file(ref)
    summary = summarize(path)  # a Rudder file: read without numpy; anything else loads in full
    meta, sizes = (summary.meta, summary.sizes) if summary else _load_sizes(path)
    console.print(Text.assemble((meta.name, "bold"), f" - {meta.description or 'no description'}"))
    console.print(
        plain(
            f"model {meta.model.name or '?'} ({meta.model.architecture}, n_embd {meta.model.n_embd}, "
            f"{meta.model.n_layer} layers, layout {meta.model.layout_hash[:12] or 'unknown'})"
        )
    )
    read = "" if meta.weights == "native" else f" (read through a {meta.weights} copy of the weights)"
    console.print(plain(f"site {meta.site}, op {meta.op}, method {meta.method}{read}, dataset {meta.dataset or '-'}"))
    table = Table("layer", "|d|", "residual norm", "|d| / norm")
    for layer, norm in sizes.items():
        resid = meta.layer_norms.get(layer)
        table.add_row(
            str(layer), f"{norm:.3f}", f"{resid:.1f}" if resid else "-", f"{norm / resid:.4f}" if resid else "-"
        )
    console.print(table)


def _load_sizes(path: Path) -> tuple[VectorMeta, dict[int, float]]:
    import numpy as np

    from rudder.vectors.files.formats import load_vector

    vector = load_vector(path)
    return vector.meta, {layer: float(np.linalg.norm(d)) for layer, d in vector.directions.items()}
