"""A vector's card: its recipe, health report and calibration, in a JSON sidecar next to the vector file.

    terse.smollm2-135m.gguf         the directions (Rudder GGUF; loads in llama-cli)
    terse.smollm2-135m.card.json    how it was made, how healthy it is, how hard to push it

The card is plain JSON so a reviewer reads it in a diff; `rudder vectors check` writes `health`,
`rudder vectors calibrate` writes `calibration` (whose `scale` is the vector's default strength).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rudder.util.validation import describe_validation_error
from rudder.vectors.meta import VectorError

DATASETS_DIR = Path(__file__).parent.parent / "datasets"


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(description="contrastive JSONL; relative paths are under rudder/vectors/datasets")
    site: str = "l_out"
    extract_layers: str = Field("1-28", description="layers extracted (check looks at all of them)")
    layers: str = Field("10-15", description="layers steered by default")
    method: Literal["mean-diff", "pca"] = "mean-diff"
    position: Literal["last", "mean", "generated"] = "last"
    holdout: float = Field(0.25, ge=0.0, lt=1.0, description="share of pairs (the last ones) kept out of extraction")
    positive: str = Field("", description="what +scale pushes towards")
    negative: str = Field("", description="what -scale pushes towards")
    metric: str = Field("words", description="target effect measured by calibrate (textmetrics.METRICS)")
    goal: Literal["increase", "decrease"] = "decrease"
    system: str = "You are a coding assistant."
    prompts: list[str] = Field(default_factory=list, description="held-out calibration questions")
    max_tokens: int = Field(160, ge=8)
    scales: list[float] = Field(default_factory=list, description="magnitudes calibrate sweeps [default: its own]")
    guard: bool = Field(False, description="calibrate with the collapse guard on, as agent runs steer")
    ask: str = Field("", description="the prompt-only arm: an instruction asking for the same thing in words")
    negative_side: bool = Field(False, description="calibrate -scale too (a mode pushes the other way)")

    def dataset_path(self) -> Path:
        path = Path(self.dataset)
        return path if path.is_absolute() else DATASETS_DIR / path


class LayerHealth(BaseModel):
    layer: int
    consistency: float  # mean cosine of the pair differences to the vector
    consistency_null: float  # 95th percentile of the same with each pair's labels flipped at random
    consistency_p: float
    auroc: float  # held-out positives vs negatives projected on the vector
    auroc_null: float  # 95th percentile with labels shuffled
    auroc_p: float
    verdict: Literal["strong", "ok", "weak"]


class Health(BaseModel):
    verdict: Literal["strong", "ok", "weak"]
    reasons: list[str]
    pairs: int
    held_out_pairs: int
    layers: list[LayerHealth]
    recommended_layers: str | None = None  # a card saved without one (exclude_none) must load again
    steer_layers: str
    steer_scale: float
    probe_layer: int
    shift: float  # how far +scale moves held-out negatives towards the positives (share of the gap)
    shift_null: float  # the same push along a random direction of the same size
    permutations: int


class CalibrationRow(BaseModel):
    scale: float
    effect: float  # mean target metric
    change: float  # relative to scale 0
    perplexity: float  # median, steered text under the unsteered model
    repetition: float  # mean word 4-gram repetition rate
    damaged: int  # answers with a loop, incoherent or off-topic
    added: int = 0  # of those, answers that were intact unsteered (the damage steering caused)
    answers: int
    guard_actions: int = 0  # collapse-guard back-offs and stops over all answers (guarded calibration)
    examples: list[str] = Field(default_factory=list)


class Calibration(BaseModel):
    metric: str
    goal: str
    layers: str
    scale: float  # the chosen default: largest swept scale before damage passes the threshold
    max_damaged: float
    max_perplexity: float
    guarded: bool = False  # steered answers ran under the collapse guard
    rows: list[CalibrationRow]


class LabelCount(BaseModel):
    label: str
    positives: int  # drifted steps the mean difference took
    negatives: int  # contrast steps


class DevSeparation(BaseModel):
    layer: int
    auroc: float  # dev steps with the label vs contrast steps, projected on the direction (cosine)
    null95: float  # 95th percentile of the same with the labels permuted
    p: float
    positives: int
    negatives: int


class RunsRecipe(BaseModel):
    """A direction built from recorded agent runs (`rudder vectors extract --from-runs`)."""

    label: str  # the label this direction points towards
    labels: list[LabelCount]  # every label of the extraction, in Gram-Schmidt order
    position: str  # thought | call: where in each step the residual was read
    layers: list[int]
    split: str  # the split the runs came from (train)
    contrast: str = "calibrated"  # behaviour labels against: calibrated (passing, unlabelled) or clean steps
    runs: list[str]  # the recording files
    dev_runs: list[str] = Field(default_factory=list)
    dev: list[DevSeparation] = Field(default_factory=list)
    probe_layer: int | None = None  # best dev AUROC (train when there is no dev)


class GateCalibration(BaseModel):
    """A conditional-steering threshold calibrated on dev runs (`rudder vectors gate`)."""

    label: str
    layer: int
    position: str
    threshold: float  # on the cosine with the direction at this layer
    above: bool
    tpr: float  # dev drifted steps the gate fires on
    fpr: float  # dev contrast steps it fires on
    positives: int
    negatives: int
    runs: list[str]


class BuildReport(BaseModel):
    """What `rudder vectors build` measured beyond health and calibration, for its closing table."""

    model: str  # the model folder (library.model_key)
    layers_searched: str | None = None  # the recipe's layers were weak: the check's recommendation was used
    prompt_only: CalibrationRow | None = None  # the recipe's `ask` in the system prompt, unsteered
    seconds: dict[str, float] = Field(default_factory=dict)  # wall time per stage (summed over resumed runs)
    cpu_seconds: dict[str, float] = Field(default_factory=dict)  # CPU time per stage: on a shared machine the
    # honest cost (one llama.cpp thread: CPU seconds = what the stage takes on one idle core)


class VectorCard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipe: Recipe | None = None
    runs: RunsRecipe | None = None
    gate: GateCalibration | None = None
    health: Health | None = None
    calibration: Calibration | None = None
    negative_calibration: Calibration | None = None  # the same sweep with -scale (e.g. verbose from terse)
    build: BuildReport | None = None


def card_path(vector_path: Path) -> Path:
    vector_path = Path(vector_path)
    stem = vector_path.name.removesuffix(vector_path.suffix)
    return vector_path.with_name(f"{stem}.card.json")


def load_card(vector_path: Path) -> VectorCard:
    """The card beside a vector file, or an empty one."""
    path = card_path(vector_path)
    if not path.is_file():
        return VectorCard()
    try:
        return VectorCard.model_validate_json(path.read_text())
    except ValidationError as exc:
        raise VectorError(describe_validation_error(str(path), exc, first_only=True, show_input=False)) from None


def save_card(vector_path: Path, card: VectorCard) -> Path:
    """Written whole or not at all: a temporary name beside it, then a rename (an interrupted write leaves
    the old card, never half of a new one)."""
    path = card_path(vector_path)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(card.model_dump_json(indent=1, exclude_none=True) + "\n")
    temporary.replace(path)
    return path
