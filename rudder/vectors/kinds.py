"""The small enums of the vectors package, kept apart so that a command line can name them cheaply.

Importing this module loads nothing but `enum` (no numpy, gguf or pydantic): `rudder --help` and mode
files use these names without paying for the vector machinery. The defining modules re-export them.
"""

from __future__ import annotations

from enum import StrEnum


class SteeringOp(StrEnum):
    ADD = "add"  # y += s * d
    PROJECT_OUT = "project-out"  # y -= s * d̂ (d̂·y)   (ds4's directional steering)
    ABLATE = "ablate"  # y -= d̂ (d̂·y)          (remove the direction entirely)


class Scope(StrEnum):
    ALL = "all"  # every token the model processes, prompt included
    GENERATED = "generated"  # only tokens the model generates


class ScaleMode(StrEnum):
    RELATIVE = "relative"  # scale × the layer's mean residual norm × unit direction
    RAW = "raw"  # scale × the stored direction


class VectorFormat(StrEnum):
    RUDDER = "rudder"
    LLAMA = "llama"
    DS4 = "ds4"
