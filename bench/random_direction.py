"""The control for a steering experiment: a random direction with the same norm per layer as a real vector.

    .venv/bin/python -m bench.random_direction drift.gguf drift-random.gguf --seed 0

The copy keeps the vector's layers, site, op and residual norms (so a relative scale pushes exactly as
hard) and gets a new name; only the directions are random (Gaussian, then scaled to the original norms).
A mode using it keeps the real vector's gate (`when = { axis = "<real>", ... }`): same gate, same push,
a direction that means nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rudder.vectors.files.formats import load_vector, save_vector
from rudder.vectors.vector import SteeringVector


def random_twin(vector: SteeringVector, name: str, seed: int) -> SteeringVector:
    rng = np.random.default_rng(seed)
    directions = {}
    for layer, direction in vector.directions.items():
        noise = rng.normal(size=direction.shape).astype(np.float32)
        directions[layer] = noise * np.float32(np.linalg.norm(direction) / np.linalg.norm(noise))
    meta = vector.meta.model_copy(
        update={"name": name, "method": f"random (seed {seed}, norms of {vector.meta.name})", "description": ""}
    )
    return SteeringVector(meta, directions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("vector", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    vector = load_vector(args.vector)
    twin = random_twin(vector, args.output.name.split(".")[0], args.seed)
    save_vector(twin, args.output)
    for layer in twin.layers:
        cos = float(twin.unit(layer) @ vector.unit(layer))
        print(f"layer {layer}: norm {np.linalg.norm(twin.directions[layer]):.3f}, cosine with the original {cos:+.3f}")


if __name__ == "__main__":
    main()
