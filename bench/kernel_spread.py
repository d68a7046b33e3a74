"""The numbers the model-dependent tests hold to a tolerance, on this llama.cpp build (one JSON line).

Run it under each build (`.venv/bin/python`, `.venv-avx2/bin/python`, ...; bench/portability.sh makes
them) and compare: the tests' tolerances come from the spread across builds, not from one machine.

    RUDDER_THREADS=1 .venv/bin/python bench/kernel_spread.py > bench/out/spread-native.json
    RUDDER_THREADS=1 .venv-avx2/bin/python bench/kernel_spread.py > bench/out/spread-avx2.json

It measures what tests/vectors/test_capture_batched.py and test_dense_weights.py assert (the same
16 pairs, layers and comparisons), the chat answers test_cli.py used to assert as text, and the numbers
behind test_health.py's verdicts and test_calibrate.py's answer-length change (the same vectors, data,
layers and scales). Name sections to run only those: `kernel_spread.py health calibrate`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import llama_cpp
import numpy as np

from rudder.engine import dense
from rudder.engine.engine import Engine, EngineConfig
from rudder.engine.generation import Sampling
from rudder.vectors.extraction.capture import capture
from rudder.vectors.extraction.dataset import load_dataset
from rudder.vectors.extraction.extract import extract, mean_difference, render_prompts
from rudder.vectors.files.card import Recipe
from rudder.vectors.files.formats import load_vector
from rudder.vectors.trust.calibrate import DEFAULT_PROMPTS, calibrate
from rudder.vectors.trust.health import check_vector
from rudder.vectors.vector import random_like

DATASET = Path(__file__).resolve().parents[1] / "rudder" / "vectors" / "datasets" / "terse_verbose.jsonl"
BATCH_LAYERS = [0, 1, 8, 15, 22, 28, 29]
TERSE = DATASET.parents[1] / "library" / "terse.smollm2-135m.gguf"
STEER = range(10, 16)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def rel_rows(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.linalg.norm(a - b, axis=1) / np.linalg.norm(a, axis=1)).max())


def batched_vs_one(engine: Engine, prompts: list[str]) -> dict[str, dict[int, dict[str, float]]]:
    """Many prompts per decode against one at a time: per layer, the mean-diff cosine and the worst row."""
    engine.batch_context(weights="native")
    out: dict[str, dict[int, dict[str, float]]] = {}
    for position in ("last", "mean"):
        many = capture(engine, prompts, BATCH_LAYERS, position=position)  # type: ignore[arg-type]
        one = capture(engine, prompts, BATCH_LAYERS, position=position, batch=False)  # type: ignore[arg-type]
        out[position] = {}
        for layer in BATCH_LAYERS:
            a, b = np.asarray(one.data[layer]), np.asarray(many.data[layer])
            v_one, v_many = mean_difference(a[:16], a[16:]), mean_difference(b[:16], b[16:])
            out[position][layer] = {"cosine": round(cosine(v_one, v_many), 5), "rel_rows": round(rel_rows(a, b), 5)}
    return out


def dense_vs_native(engine: Engine, data, weights: str) -> dict[int, float]:
    """Mean-diff vectors read through a dense copy against the model's own weights, per layer."""
    layers = list(range(29))
    engine.batch_context(weights=weights)  # type: ignore[arg-type]
    dense = extract(engine, data, layers)
    engine.batch_context(weights="native")
    native = extract(engine, data, layers)
    return {
        "read": dense.meta.weights,  # type: ignore[dict-item]
        **{layer: round(cosine(native.directions[layer], dense.directions[layer]), 5) for layer in layers},
    }


def chat_answers(engine: Engine) -> list[str]:
    messages: list[dict[str, str]] = []
    answers = []
    for question in ("What is the capital of France?", "And of Italy?"):
        messages.append({"role": "user", "content": question})
        text = engine.complete(engine.format_chat(messages), Sampling(max_tokens=16)).text
        messages.append({"role": "assistant", "content": text})
        answers.append(text)
    return answers


def health(engine: Engine) -> dict[str, object]:
    """test_health.py's check of the terse vector and of a random one: verdicts, per-layer statistics, shifts."""
    terse = load_vector(TERSE, model=engine.info.identity)
    random = random_like(terse, "random", range(6, 19), seed=7)
    data = load_dataset(DATASET, limit=40)
    out: dict[str, object] = {}
    for name, vector in (("terse", terse), ("random", random)):
        h = check_vector(engine, vector, data, steer_layers=STEER, permutations=200)
        steered = [x for x in h.layers if x.layer in STEER]
        out[name] = {
            "verdict": h.verdict,
            "shift": h.shift,
            "shift_null": h.shift_null,
            "layers": {x.layer: [x.verdict, x.consistency, x.auroc] for x in steered},
        }
    return out


def calibration(engine: Engine) -> dict[str, object]:
    """test_calibrate.py's sweep: per scale the answer-length change, damaged answers and perplexity."""
    vector = load_vector(TERSE, model=engine.info.identity)
    recipe = Recipe(dataset="terse_verbose.jsonl", prompts=DEFAULT_PROMPTS[:3], max_tokens=48)
    result = calibrate(engine, vector, recipe, layers=STEER, scales=[0.05, 0.5])
    return {
        "chosen": result.scale,
        **{str(r.scale): [round(r.change, 4), r.damaged, round(r.perplexity, 3)] for r in result.rows},
    }


def main() -> None:
    sections = sys.argv[1:] or ["chat", "batched", "dense", "health", "calibrate"]
    engine = Engine(EngineConfig(n_ctx=4096))
    data = load_dataset(DATASET, limit=16)
    prompts = render_prompts(engine, [*data.positives, *data.negatives])
    result: dict[str, object] = {"system_info": llama_cpp.llama_print_system_info().decode().strip()}
    if "chat" in sections:
        result["chat"] = chat_answers(engine)
    if "batched" in sections:
        result["batched"] = batched_vs_one(engine, prompts)
    if "dense" in sections:
        result["dense_auto_reads"] = "bf16" if dense.native_bf16() else "f16"
        result["dense_bf16"] = dense_vs_native(engine, data, "bf16")
        result["dense_f16"] = dense_vs_native(engine, data, "f16")
    if "health" in sections:
        result["health"] = health(engine)
    if "calibrate" in sections:
        result["calibrate"] = calibration(engine)
    engine.close()
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
