"""Rebuild the shipped SmolLM2-135M vector library from the recipes: `rudder vectors build` into the package.

The same pipeline a user runs for their own model (rudder/vectors/build/pipeline.py: dataset, extract,
check, calibrate with the collapse guard, prompt-only, card), written to `rudder/vectors/library/` under
the shipped names (`NAME.smollm2-135m.gguf` + card + plots). Resumable like the command. Greedy decoding;
on a shared 2-core machine this takes several minutes per vector.

    python bench/build_library.py [NAME ...] [--force] [--scales=0.04,0.08]
"""

from __future__ import annotations

import sys

from common import console, load_engine

from rudder.cli.vectors_build import StageBars, print_build_table
from rudder.vectors.build.pipeline import BuildOptions, build_library
from rudder.vectors.build.recipes import load_recipes
from rudder.vectors.files.library import SHIPPED_DIR


def main() -> None:
    names = [a for a in sys.argv[1:] if not a.startswith("--")] or None
    scales = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--scales=")), None)
    options = BuildOptions(scales=tuple(map(float, scales.split(","))) if scales else None, force="--force" in sys.argv)
    recipes = load_recipes(names)
    console.print(f"building {', '.join(r.name for r in recipes)} (shared machine: timings are indicative)")
    engine = load_engine()
    with StageBars(console) as bars:
        built = build_library(
            engine, recipes, SHIPPED_DIR, bars, options, file_stem=lambda name: f"{name}.smollm2-135m", note=print
        )
    print_build_table(built)


if __name__ == "__main__":
    main()
