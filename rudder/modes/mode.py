"""A mode file: steering vectors, scales, sampling, a prompt addendum and a tool policy, with
per-step-kind overrides. TOML in, a validated `Mode` out.

    name = "careful-review"
    description = "Reads before it edits, runs the tests, reviews the diff."
    hotkey = "c"
    addendum = "Read the code before you edit it. Run the tests before you finish."
    steer_tool_calls = false          # no steering while the model writes the tool call itself
    test_before_finish = true         # where the repo has tests, run them before finish and report

    [sampling]
    temperature = 0.0

    [[vectors]]
    vector = "careful"                # a library name, or a path relative to the mode file
    scale = 0.04                      # relative to the layer's residual norm (scale_mode = "raw" to opt out);
                                      # "calibrated": the vector card's scale and layers (modes/calibrated.py)
    layers = "10-15"
    op = "add"                        # add | project-out | ablate
    scope = "all"                     # all | generated

    [[vectors]]                       # conditional steering (CAST/TACT): only on steps whose residual at the
    vector = "drift"                  # thought's first token points along the axis (cosine above 0.12)
    scale = -0.1
    when = { axis = "drift", above = 0.12 }   # or below = X; "calibrated": the axis card's gate; layer, every

    [steps.review]                    # plan, explore, edit, test, review, answer
    scale_factor = 1.5                # multiply every vector's scale on review steps
    read_only = true

    [steps.edit]
    vectors = []                      # replace the vectors on edit steps: here, none
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rudder.engine.generation import Sampling
from rudder.interfaces import StepKind
from rudder.util.layers import parse_layers
from rudder.vectors.kinds import ScaleMode, Scope, SteeringOp


class WhenSpec(BaseModel):
    """A gate: the vector runs on a step only when the step's residual crosses the threshold on the axis."""

    model_config = ConfigDict(extra="forbid")

    axis: str = Field(min_length=1, description="vector whose direction is read (library name or path)")
    above: float | Literal["calibrated"] | None = None
    below: float | Literal["calibrated"] | None = None
    layer: int | None = Field(None, ge=0, description="layer read [default: the card's gate or probe layer]")
    every: int | None = Field(None, ge=1, description="read again every N tokens until it fires")

    @model_validator(mode="after")
    def _one_side(self) -> WhenSpec:
        if (self.above is None) == (self.below is None):
            raise ValueError("a gate needs exactly one of above = X or below = X")
        return self


class VectorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vector: str = Field(min_length=1, description="library name or path (relative to the mode file)")
    scale: float = Field(ge=-10.0, le=10.0)
    scale_mode: ScaleMode = ScaleMode.RELATIVE
    layers: tuple[int, ...] | None = None
    op: SteeringOp | None = Field(None, description="default: the vector's own op")
    scope: Scope = Scope.ALL
    when: WhenSpec | None = Field(None, description="conditional: only on steps where this gate fires")
    calibrated: Literal["calibrated", "-calibrated"] | None = Field(
        None, exclude=True, description="set by the loader: the scale (and layers) came from the card, so a "
        "model-bound copy takes its own model's card (modes/permodel.py)"
    )
    layers_from_card: bool = Field(False, exclude=True, description="set by the loader: `layers` is the card's")

    @field_validator("layers", mode="before")
    @classmethod
    def _layers(cls, value: object) -> object:
        return parse_layers(value) if isinstance(value, str | list) else value


class SamplingOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    temperature: float | None = Field(None, ge=0.0, le=5.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=0)
    min_p: float | None = Field(None, ge=0.0, le=1.0)
    max_tokens: int | None = Field(None, ge=1)
    repeat_penalty: float | None = Field(None, ge=0.5, le=3.0)

    def apply(self, base: Sampling) -> Sampling:
        changes = self.model_dump(exclude_none=True)
        return base.model_copy(update=changes) if changes else base


class StepOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vectors: list[VectorSpec] | None = Field(None, description="replaces the mode's vectors on this step kind")
    scale_factor: float = Field(1.0, ge=-10.0, le=10.0)
    steer_tool_calls: bool | None = None
    addendum: str | None = None
    sampling: SamplingOverride | None = None
    read_only: bool | None = None


class Mode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=40)
    description: str = ""
    hotkey: str | None = Field(None, pattern=r"^[a-z0-9]$", description="one key the TUI binds")
    addendum: str = ""
    vectors: list[VectorSpec] = Field(default_factory=list)
    sampling: SamplingOverride = Field(default_factory=SamplingOverride)
    steer_tool_calls: bool = True
    test_before_finish: bool = Field(False, description="run the repo's tests before finish (if it has any)")
    read_only: bool = False
    steps: dict[StepKind, StepOverride] = Field(default_factory=dict)
    source: Path | None = Field(None, exclude=True, description="the file it came from (set by the loader)")
    notice: str | None = Field(
        None, exclude=True, description="set when bound to a model: what runs prompt-led there (modes/permodel.py)"
    )

    @model_validator(mode="after")
    def _vectors_named_once(self) -> Mode:
        names = [spec.vector for spec in self.vectors]
        if len(names) != len(set(names)):
            raise ValueError("a vector is listed twice; give it one entry with the summed scale")
        return self

    def override(self, kind: StepKind) -> StepOverride:
        return self.steps.get(kind, StepOverride())

    def vectors_for(self, kind: StepKind) -> list[VectorSpec]:
        override = self.override(kind)
        specs = override.vectors if override.vectors is not None else self.vectors
        if override.scale_factor == 1.0:
            return list(specs)
        return [s.model_copy(update={"scale": s.scale * override.scale_factor}) for s in specs]

    def steers_tool_calls(self, kind: StepKind) -> bool:
        value = self.override(kind).steer_tool_calls
        return self.steer_tool_calls if value is None else value

    def addendum_for(self, kind: StepKind) -> str:
        extra = self.override(kind).addendum
        return f"{self.addendum}\n{extra}".strip() if extra else self.addendum

    def sampling_for(self, kind: StepKind, base: Sampling) -> Sampling:
        sampling = self.sampling.apply(base)
        step = self.override(kind).sampling
        return step.apply(sampling) if step else sampling

    def read_only_for(self, kind: StepKind) -> bool:
        value = self.override(kind).read_only
        return self.read_only if value is None else value

    def base_entries(self) -> dict[str, VectorSpec]:
        """Each vector's base entry, whose scale a slider shows: the mode-wide one, else its first per-step one."""
        found: dict[str, VectorSpec] = {}
        for spec in [*self.vectors, *(s for o in self.steps.values() for s in (o.vectors or []))]:
            found.setdefault(spec.vector, spec)
        return found

    def with_scales(self, scales: dict[str, float]) -> Mode:
        """The one way to change a mode's strengths (the TUI's sliders, the editor's strength options): each named
        vector at a new base scale; its other entries keep their proportion to the base (from a base of 0 they
        take the new scale). The original mode is untouched."""
        bases = {name: spec.scale for name, spec in self.base_entries().items()}

        def rescale(specs: list[VectorSpec]) -> list[VectorSpec]:
            out = []
            for spec in specs:
                base = bases.get(spec.vector)
                if spec.vector not in scales or base is None:
                    out.append(spec)
                elif base == 0:
                    out.append(spec.model_copy(update={"scale": scales[spec.vector]}))
                else:
                    out.append(spec.model_copy(update={"scale": spec.scale * (scales[spec.vector] / base)}))
            return out

        steps = {
            kind: o.model_copy(update={"vectors": rescale(o.vectors)}) if o.vectors is not None else o
            for kind, o in self.steps.items()
        }
        copy = self.model_copy(update={"vectors": rescale(self.vectors), "steps": steps})
        copy.source = self.source
        return copy

    def vector_names(self) -> list[str]:
        """Every vector the mode uses, in first-use order."""
        names = [s.vector for s in self.vectors]
        names += [s.vector for o in self.steps.values() for s in (o.vectors or [])]
        return list(dict.fromkeys(names))
