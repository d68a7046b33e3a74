"""The shipped vector library, measured: each vector at its calibrated scale vs unsteered vs asking for the
same thing in the prompt, on held-out coding questions (in no dataset and no calibration set).

Arms per vector: `unsteered` (shared), `steered` (calibrated scale and layers from the vector's card, with
the collapse guard on, as agent runs use it), `prompt-only` (an instruction asking for the same thing), and
for terse also `steered, no guard`. Greedy, capped tokens. Reports the recipe's metric, its change against
unsteered, answers damaged (loop / incoherent / off-topic) and the guard's actions.

    python bench/library.py [--questions 10] [--max-tokens 160] [--vectors terse careful ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from common import QUESTIONS, console, load_engine
from rich.table import Table

from rudder.engine.generation import Sampling
from rudder.modes.mode import parse_layers
from rudder.vectors.files.card import load_card
from rudder.vectors.files.formats import load_vector
from rudder.vectors.files.library import SHIPPED_DIR
from rudder.vectors.steering.plan import VectorUse, build_plan
from rudder.vectors.steering.steerer import Steerer
from rudder.vectors.trust.guard import CollapseGuard
from rudder.vectors.trust.textmetrics import damaged, metric

SYSTEM = "You are a coding assistant."
ASK_FOR = {  # the prompt-only arm: ask for the same thing in words
    "terse": "Answer in as few words as possible.",
    "careful": "Be careful: read the relevant code first and say how you would check or test the result.",
    "code-first": "Start your answer with a code block, then explain briefly.",
    "stepwise": "Answer as a numbered list of short steps.",
}


def answers(engine, system: str, questions: list[str], max_tokens: int, guard: CollapseGuard | None) -> list[str]:
    """Greedy answers under the active steering; the guard (if any) starts every answer from the full plan,
    as the agent's guard does on every model call (a back-off does not carry over to the next question)."""
    texts = []
    plan = guard.steerer.plan if guard else None
    for question in questions:
        engine.reset()
        if guard:
            guard.steerer.apply(plan)
        prompt = engine.format_chat([{"role": "system", "content": system}, {"role": "user", "content": question}])
        watchers = [guard] if guard else []
        texts.append(engine.complete(prompt, Sampling(max_tokens=max_tokens), watchers=watchers).text)
    engine.reset()
    return texts


def summarize(name: str, arm: str, texts: list[str], questions: list[str], score, base: float | None, guard=None):
    value = statistics.mean(score(t) for t in texts)
    bad = sum(bool(damaged(q, t)) for q, t in zip(questions, texts, strict=True))
    return {
        "vector": name,
        "arm": arm,
        "metric": round(value, 3),
        "change": None if base is None or not base else round(value / base - 1, 3),
        "intact": f"{len(texts) - bad}/{len(texts)}",
        "guard_actions": len(guard.events) if guard else None,
        "words": round(statistics.mean(len(t.split()) for t in texts), 1),
        "first": texts[0][:200],
    }


def held_out(questions: list[str]) -> None:
    seen = "".join(p.read_text() for p in (SHIPPED_DIR.parent / "datasets").glob("*.jsonl"))
    for card_file in SHIPPED_DIR.glob("*.card.json"):
        seen += card_file.read_text()
    leaked = [q for q in questions if q in seen]
    if leaked:
        raise SystemExit(f"not held out (in a dataset or a calibration set): {leaked}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--vectors", nargs="*", default=list(ASK_FOR))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--no-loose", action="store_true", help="skip the terse 'steered, no guard' arm")
    args = parser.parse_args()
    questions = QUESTIONS[: args.questions]
    held_out(questions)
    engine = load_engine()
    steerer = Steerer(engine)
    plain = answers(engine, SYSTEM, questions, args.max_tokens, None)
    rows = []
    for name in args.vectors:
        path = SHIPPED_DIR / f"{name}.smollm2-135m.gguf"
        card = load_card(path)
        assert card.recipe and card.calibration, f"{path}: no calibrated card; run bench/build_library.py"
        score = metric(card.recipe.metric)
        base = statistics.mean(score(t) for t in plain)
        rows.append(summarize(name, "unsteered", plain, questions, score, None))
        vector = load_vector(path, model=engine.info.identity)
        layers = tuple(parse_layers(card.calibration.layers) or ())
        plan = build_plan([VectorUse(vector, card.calibration.scale, layers)])
        if card.calibration.scale == 0:  # calibration found no scale that does not damage answers
            rows.append({**rows[-1], "arm": "steered: no safe scale (calibrated 0)", "change": None})
        else:
            guard = CollapseGuard(steerer)
            with steerer.steering(plan):
                steered = answers(engine, SYSTEM, questions, args.max_tokens, guard)
            arm = f"steered ×{card.calibration.scale:g} @{card.calibration.layers}"
            rows.append(summarize(name, arm, steered, questions, score, base, guard))
        if name == "terse" and not args.no_loose:
            with steerer.steering(plan):
                loose = answers(engine, SYSTEM, questions, args.max_tokens, None)
            rows.append(summarize(name, "steered, no guard", loose, questions, score, base))
        prompted = answers(engine, f"{SYSTEM} {ASK_FOR[name]}", questions, args.max_tokens, None)
        rows.append(summarize(name, "prompt-only", prompted, questions, score, base))
        console.print(rows[-3:] if name != "terse" else rows[-4:])
    table = Table(title=f"library vectors, {len(questions)} held-out questions, greedy, {args.max_tokens}-token cap "
                  "(shared 2-core machine)")  # fmt: skip
    for column in ("vector", "arm", "metric", "vs unsteered", "words", "intact", "guard"):
        table.add_column(column)
    for row in rows:
        change = "—" if row["change"] is None else f"{row['change']:+.0%}"
        guard = "" if row["guard_actions"] is None else str(row["guard_actions"])
        table.add_row(row["vector"], row["arm"], f"{row['metric']:.2f}", change, f"{row['words']:.0f}",
                      row["intact"], guard)  # fmt: skip
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
