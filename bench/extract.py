"""Rudder's extraction against llama.cpp's own `llama-cvector-generator`, side by side in one run.

Both tools read the same prompts (a Rudder dataset rendered with the model's chat template, written as
cvector-generator's positive/negative files), on the same model, with the same thread count, each as a
whole process (start-up and model load included), interleaved round by round. Printed: the median times,
the ratio, and per layer the cosine between cvector-generator's vector and Rudder's `--method
cvector-mean` (the same computation), after undoing cvector-generator's layer off-by-one (it writes the
state read after layer il as direction.{il+1}). Then a 1,000-pair extraction (templates x personas).

    python bench/extract.py --build            # build llama-cvector-generator from the vendored llama.cpp
    python bench/extract.py --cvector PATH     # or use one you have
    python bench/extract.py --rounds 3 --threads 1

Building: the llama.cpp source comes from the llama-cpp-python sdist of the installed version (pip's
cache, or `pip download --no-binary :all:`); cmake builds only the llama-cvector-generator target with
-j2; the binary is cached under bench/out/ (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DATASET = ROOT / "rudder" / "vectors" / "datasets" / "terse_verbose.jsonl"
BINARY = OUT / "llama-cvector-generator"
ALL_LAYERS = "0-28"  # what cvector-generator writes for SmolLM2 (30 layers): states after layers 0..28

PERSONAS = [  # terse vs verbose instructions for the 1,000-pair template dataset
    ("Answer in as few words as possible.", "Answer in great detail, with long explanations and examples."),
    ("Be extremely brief.", "Be extremely thorough and long-winded."),
    ("Reply with one short sentence only.", "Reply with a long, thorough, multi-paragraph explanation."),
    ("Give the shortest possible answer.", "Give the longest, most comprehensive answer you can."),
    ("Use at most five words.", "Use at least five paragraphs."),
    ("Keep it terse.", "Elaborate at length, leaving nothing out."),
    ("One line, no details.", "Every detail, many lines."),
    ("Short and direct, please.", "Long and expansive, please."),
    ("Skip all explanation.", "Explain every step in depth."),
    ("Minimal answer only.", "Maximal answer with examples and background."),
]


def build_cvector_generator() -> Path:
    """Build llama-cvector-generator from the llama.cpp that the installed llama-cpp-python vendors."""
    if BINARY.exists():
        return BINARY
    import llama_cpp

    version = llama_cpp.__version__
    OUT.mkdir(parents=True, exist_ok=True)
    sdist = OUT / f"llama_cpp_python-{version}.tar.gz"
    if not sdist.exists():
        cached = sorted(Path.home().joinpath(".cache", "pip").rglob(f"llama_cpp_python-{version}.tar.gz"))
        if cached:
            shutil.copy(cached[0], sdist)
        else:
            pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
            subprocess.run([*pip, f"llama-cpp-python=={version}", "-d", str(OUT)], check=True)
    source = OUT / f"llama_cpp_python-{version}" / "vendor" / "llama.cpp"
    if not source.exists():
        with tarfile.open(sdist) as tar:
            members = [m for m in tar.getmembers() if "/vendor/llama.cpp/" in m.name]
            tar.extractall(OUT, members=members, filter="data")
    build = OUT / "build"
    options = ["-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=OFF", "-DLLAMA_OPENSSL=OFF"]
    options += ["-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=OFF"]
    subprocess.run(["cmake", "-S", str(source), "-B", str(build), *options], check=True)
    subprocess.run(["cmake", "--build", str(build), "--target", "llama-cvector-generator", "-j", "2"], check=True)
    shutil.copy(build / "bin" / "llama-cvector-generator", BINARY)
    return BINARY


def escape(text: str) -> str:
    """One prompt per line, as cvector-generator reads it (it undoes these escapes)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def prompt_files(dataset: Path, limit: int | None) -> tuple[Path, Path, int]:
    """Render the dataset with the model's chat template into cvector-generator's two files."""
    from rudder.engine.engine import Engine, EngineConfig
    from rudder.vectors.extraction.dataset import load_dataset
    from rudder.vectors.extraction.extract import render_prompts

    data = load_dataset(dataset, limit)
    with Engine(EngineConfig(n_ctx=512)) as engine:
        positives, negatives = render_prompts(engine, data.positives), render_prompts(engine, data.negatives)
    files = OUT / "positive.txt", OUT / "negative.txt"
    for path, prompts in zip(files, (positives, negatives), strict=True):
        path.write_text("".join(escape(p) + "\n" for p in prompts), encoding="utf-8")
    return files[0], files[1], len(data)


def template_dataset(n_pairs: int = 1000) -> Path:
    """n_pairs terse/verbose pairs: PERSONAS x the questions of the shipped dataset (templates x personas)."""
    questions: list[str] = []
    for line in DATASET.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("//"):
            record = json.loads(line)
            for message in record["positive"]:
                if message["role"] == "user" and message["content"] not in questions:
                    questions.append(message["content"])
    per_persona = -(-n_pairs // len(PERSONAS))
    path = OUT / f"template_{n_pairs}.jsonl"
    lines = []
    for pos, neg in PERSONAS:
        record = {"template": "{persona}\n\n{fill}", "positive": [pos], "negative": [neg]}
        lines.append(json.dumps({**record, "fill": questions[:per_persona]}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return seconds


def rudder_command(dataset: Path, out: Path, threads: int, limit: int | None, *extra: str) -> list[str]:
    command = [sys.executable, "-m", "rudder", "vectors", "extract", str(dataset), "-o", str(out)]
    command += ["--layers", ALL_LAYERS, "--threads", str(threads), *extra]
    return command + (["--limit", str(limit)] if limit else [])


def cosines(cvector_file: Path, rudder_file: Path) -> dict[int, float]:
    from rudder.vectors.files.formats import load_vector

    theirs = load_vector(cvector_file, from_cvector_generator=True)  # direction.{il+1} -> layer il
    ours = load_vector(rudder_file)
    out = {}
    for layer in sorted(set(theirs.directions) & set(ours.directions)):
        a, b = theirs.directions[layer], ours.directions[layer]
        out[layer] = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    return out


def choose_threads(asked: int | None) -> tuple[int, str]:
    if asked:
        return asked, "as asked"
    load = os.getloadavg()[0]
    if load < 0.5 and (os.cpu_count() or 1) >= 2:
        return 2, f"machine quiet (load {load:.2f})"
    return 1, f"machine busy (load {load:.2f}): 2 threads each would fight other processes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cvector", type=Path, help="path to llama-cvector-generator")
    parser.add_argument("--build", action="store_true", help="build it from the vendored llama.cpp (cached)")
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--limit", type=int, default=100, help="pairs (default 100)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, help="both tools [default: 2 on a quiet machine, else 1]")
    parser.add_argument("--pairs-1000", type=int, default=1000, help="size of the big run (0 skips it)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    binary = args.cvector or (build_cvector_generator() if args.build else BINARY)
    if not binary.exists():
        raise SystemExit(f"no {binary}: pass --build (builds it, ~5 min on 2 cores) or --cvector PATH")
    threads, why = choose_threads(args.threads)
    env = {**os.environ, "RUDDER_THREADS": str(threads)}
    positive, negative, n_pairs = prompt_files(args.dataset, args.limit)

    from rudder.engine.model_file import embedded_model_path

    model = embedded_model_path()
    runs = {
        "llama-cvector-generator --method mean": [
            str(binary),
            "-m",
            str(model),
            "--positive-file",
            str(positive),
            "--negative-file",
            str(negative),
            "--method",
            "mean",
            "-t",
            str(threads),
            "-o",
            str(OUT / "cvector.gguf"),
        ],
        "rudder extract (mean-diff, last token)": rudder_command(
            args.dataset, OUT / "rudder-meandiff.gguf", threads, args.limit
        ),
        "rudder extract --method cvector-mean": rudder_command(
            args.dataset, OUT / "rudder-cvector-mean.gguf", threads, args.limit, "--method", "cvector-mean"
        ),
    }
    print(f"{n_pairs} pairs ({2 * n_pairs} prompts), all layers ({ALL_LAYERS}), SmolLM2-135M Q4_1, whole processes")
    print(f"threads: {threads} for both tools ({why}); shared machine: compare the ratios, not the seconds")
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(args.rounds):
        for name, command in runs.items():
            samples[name].append(timed(command, env))
        print(f"  round {round_ + 1}: " + ", ".join(f"{s[-1]:.1f} s" for s in samples.values()), flush=True)
    base = statistics.median(samples["llama-cvector-generator --method mean"])
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:42s} median {median:6.1f} s   speed vs cvector-generator {base / median:5.2f}x")
    same = cosines(OUT / "cvector.gguf", OUT / "rudder-cvector-mean.gguf")
    print("cosine, cvector-generator vs rudder cvector-mean, per layer:")
    print("  " + " ".join(f"{layer}:{c:.4f}" for layer, c in same.items()))
    print(f"  min {min(same.values()):.5f} (layer {min(same, key=same.get)})")
    other = cosines(OUT / "cvector.gguf", OUT / "rudder-meandiff.gguf")
    print(f"cosine vs rudder mean-diff at the last token (a different computation): min {min(other.values()):.3f}")
    if args.pairs_1000:
        big = template_dataset(args.pairs_1000)
        seconds = timed(rudder_command(big, OUT / "rudder-1000.gguf", threads, None), env)
        print(f"rudder extract, {args.pairs_1000} pairs (templates x personas), layers {ALL_LAYERS}: {seconds:.1f} s")


if __name__ == "__main__":
    main()
