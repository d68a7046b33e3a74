"""What capture should read: the model's own quantised weights, or a dense (F16/BF16) copy of them.

Two measurements, side by side in one run (interleaved rounds, so a busy machine slows all alike):

1. Prompt reading speed per weight type: the embedded model requantised by llama.cpp's own quantiser
   into each type (copies cached in bench/out/weights/), one 512-token decode each, best of the rounds;
   the ratio to the shipped type (Q4_1) is the result.
2. Extraction through `rudder.vectors.extraction.extract` with `weights` native vs auto (what `rudder vectors
   extract` does by default): seconds, and per layer the cosine between the two vectors, beside the
   split-half cosine of the native vector (first half of the pairs vs second half): how far the pairs
   themselves move a vector, for scale.

    python bench/extract_weights.py                    # 1,000 template pairs, 2 threads
    python bench/extract_weights.py --pairs 200 --rounds 3 --threads 1
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import sys
import time
from pathlib import Path

import llama_cpp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract import OUT, template_dataset

TYPES = {
    "q4_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_0,
    "q4_k": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
    "q5_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_0,
    "q5_1": llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_1,
    "q6_k": llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K,
    "q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
    "f16": llama_cpp.LLAMA_FTYPE_MOSTLY_F16,
    "bf16": llama_cpp.LLAMA_FTYPE_MOSTLY_BF16,
}


def requantised(source: Path, name: str, threads: int) -> Path:
    target = OUT / "weights" / f"{source.stem}.{name}.gguf"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype, params.allow_requantize, params.nthread = TYPES[name], True, threads
        with quiet_stderr():
            status = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params))
        if status != 0:
            raise SystemExit(f"llama.cpp could not requantise {source} to {name} (status {status})")
    return target


@contextlib.contextmanager
def quiet_stderr():
    saved = os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def reading_speed(models: dict[str, Path], threads: int, rounds: int) -> None:
    print(f"## prompt reading, one 512-token decode, {threads} threads, best of {rounds} (interleaved)")
    loaded = {}
    with quiet_stderr():
        for name, path in models.items():
            loaded[name] = llama_cpp.Llama(
                str(path),
                n_ctx=512,
                n_batch=512,
                n_ubatch=512,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
    tokens = next(iter(loaded.values())).tokenize(b"The quick brown fox jumps over the lazy dog. " * 60)[:512]
    best = dict.fromkeys(loaded, float("inf"))
    for _ in range(rounds):
        for name, llm in loaded.items():
            llm.reset()
            started = time.perf_counter()
            llm.eval(tokens)
            best[name] = min(best[name], time.perf_counter() - started)
    native = next(iter(best))
    print("| weights | tok/s | vs " + native + " |\n|---|---|---|")
    for name, seconds in best.items():
        print(f"| {name} | {len(tokens) / seconds:.0f} | {best[native] / seconds:.2f}x |")
    for llm in loaded.values():
        llm.close()


def extraction(pairs: int, threads: int, rounds: int) -> None:
    from rudder.engine.config import EngineConfig
    from rudder.engine.engine import Engine
    from rudder.vectors.extraction.capture import capture
    from rudder.vectors.extraction.dataset import load_dataset
    from rudder.vectors.extraction.extract import extract, mean_difference, render_prompts

    engine = Engine(EngineConfig(n_threads=threads))
    data = load_dataset(template_dataset(pairs))
    layers = list(range(engine.info.n_layer - 1))
    chosen, why = engine.capture_weights()
    print(f"\n## extraction, {len(data)} template pairs, layers 0-{layers[-1]}, {threads} threads")
    print(f"auto reads: {chosen} ({why})")
    seconds: dict[str, list[float]] = {"native": [], "auto": []}
    vectors = {}
    for _ in range(rounds):
        for weights in seconds:
            engine.batch_context(weights=weights)  # the copy is made (or found) here, outside the timing
            started = time.perf_counter()
            vectors[weights] = extract(engine, data, layers)
            seconds[weights].append(time.perf_counter() - started)
            print(f"  {weights}: {seconds[weights][-1]:.1f} s (load {os.getloadavg()[0]:.1f})", flush=True)
    native, auto = (min(seconds[w]) for w in ("native", "auto"))
    print(f"best: native {native:.1f} s, auto ({chosen}) {auto:.1f} s: **{native / auto:.2f}x**")
    n = len(data)
    rows = capture(engine, render_prompts(engine, [*data.positives, *data.negatives]), layers, weights="native").data
    half = n // 2
    print("| layer | cos(native, auto) | split-half cos (native: pairs 1..n/2 vs the rest) |\n|---|---|---|")
    for layer in layers:
        a, b = vectors["native"].directions[layer], vectors["auto"].directions[layer]
        pos, neg = rows[layer][:n], rows[layer][n:]
        split = cosine(mean_difference(pos[:half], neg[:half]), mean_difference(pos[half:], neg[half:]))
        print(f"| {layer} | {cosine(a, b):.4f} | {split:.3f} |")
    engine.close()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from rudder.engine.model_file import embedded_model_path

    source = embedded_model_path()
    models = {"q4_1 (shipped)": source} | {name: requantised(source, name, args.threads) for name in TYPES}
    reading_speed(models, args.threads, args.rounds)
    extraction(args.pairs, args.threads, args.rounds)


if __name__ == "__main__":
    main()
