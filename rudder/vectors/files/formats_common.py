"""What every vector-file format shares: site and metadata checks, the final model check.

Kept apart from `formats.py` so the per-format modules can use it without importing the dispatcher, and
free of numpy so that `summary.py` can check a file's metadata cheaply.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from rudder.util.validation import describe_validation_error
from rudder.vectors.meta import ModelIdentity, VectorError, VectorMeta

if TYPE_CHECKING:  # numpy and the vector class load only when a vector's data does (summary.py reads without)
    import numpy as np

    from rudder.vectors.vector import SteeringVector

RUDDER_FORMAT_VERSION = 1
LAYER0_KEY = "rudder.direction.0"  # Rudder keeps layer 0 (llama.cpp cannot steer it) in this f32 array key
# The sites Rudder's own tools name. A file may name any other graph-node prefix: sites are discovered
# per model at run time (sites.py), and `require_site` refuses one the loaded model lacks.
KNOWN_SITES = ("l_out", "ffn_out", "attn_out", "l_last")
_SITE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")  # the `name` of a `name-N` graph node


def check_site(site: object, source: str) -> str:
    """A site must be a graph-node prefix (`l_out`, not `l_out-3` or a path): it becomes `<site>-<layer>`."""
    if not isinstance(site, str) or not _SITE_NAME.match(site):
        raise VectorError(
            f"{source}: unknown site {site!r}; expected a graph-node prefix such as {', '.join(KNOWN_SITES)}"
        )
    return site


def parse_meta(raw: str | dict[str, Any], source: str) -> VectorMeta:
    """A VectorMeta from Rudder's JSON; the error names the first bad field (`op: Input should be ...`)."""
    try:
        meta = VectorMeta.model_validate_json(raw) if isinstance(raw, str) else VectorMeta.model_validate(raw)
    except ValidationError as exc:
        raise VectorError(describe_validation_error(source, exc, first_only=True, show_input=False)) from None
    check_site(meta.site, source)
    return meta


def meta_as_json_object(meta: VectorMeta) -> dict[str, Any]:
    # through JSON so datetimes and int dict keys come back exactly as model_validate_json reads them
    return json.loads(meta.model_dump_json())


def finish(
    source: Path, meta: VectorMeta, directions: dict[int, np.ndarray], model: ModelIdentity | None
) -> SteeringVector:
    """Build the vector and, given the loaded model, refuse one made for another: one wording for all formats."""
    from rudder.vectors.vector import SteeringVector

    if model is not None and meta.model.n_embd != model.n_embd:
        raise VectorError(
            f"{source}: the directions have n_embd {meta.model.n_embd}, the loaded model "
            f"{model.name or model.architecture} has n_embd {model.n_embd}"
        )
    try:
        vector = SteeringVector(meta, directions)
    except VectorError as exc:
        raise VectorError(f"{source}: {exc}") from None
    if model is not None:
        vector.check_model(model, source=str(source))
    return vector


def require_file(path: Path, what: str = "vector file") -> None:
    if not path.exists():
        raise VectorError(f"{what} not found: {path}")
    if not path.is_file():
        raise VectorError(f"{path}: is not a file (expected a {what})")
