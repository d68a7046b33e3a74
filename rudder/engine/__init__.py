"""The engine room: the model runtime (llama.cpp), its graph hook and GGUF reading. Knows nothing above it."""

from typing import Literal

# What activation capture reads (engine/dense.py): auto, the model's own weights, or an F16/BF16 copy.
# Here, not in dense.py or config.py, so a command line can name the choices without loading either.
CaptureWeights = Literal["auto", "native", "f16", "bf16"]
