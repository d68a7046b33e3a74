"""Pass rate per task kind (the first tag) and arm from `rudder ab run` logs, with Wilson 95% CIs.

    .venv/bin/python -m bench.micro_kinds reports/micro/test/logs [--suite suites/micro]

Used to pilot the micro suite's difficulty (which kinds sit at 0% or 100%) and in docs/ab.md. Counts
judged samples only (infrastructure failures are listed apart, as in the report).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from rudder.ab.results import load_results
from rudder.ab.stats import pass_rate_ci
from rudder.ab.suite import load_suite


def kind_table(log_dir: str, suite: Path) -> str:
    kinds = {t.id: (t.tags[0] if t.tags else "?") for t in load_suite(suite).tasks}
    results = load_results(log_dir, quiet=True)
    cells: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for row in results.finished():
        cells[(row.arm, kinds.get(row.task, "?"))].append(row.outcome == "pass")
        cells[(row.arm, "ALL")].append(row.outcome == "pass")
    names = [*sorted({kind for _, kind in cells} - {"ALL"}), "ALL"]
    lines = ["| kind | " + " | ".join(results.arms) + " |", "|---|" + "---|" * len(results.arms)]
    for kind in names:
        row = []
        for arm in results.arms:
            outcomes = cells.get((arm, kind), [])
            if not outcomes:
                row.append("·")
                continue
            low, high = pass_rate_ci(sum(outcomes), len(outcomes))
            row.append(f"{sum(outcomes)}/{len(outcomes)} ({low:.0%}–{high:.0%})")
        lines.append(f"| {kind} | " + " | ".join(row) + " |")
    if results.infra():
        lines.append(f"\n{len(results.infra())} infrastructure failures left out.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log_dir")
    parser.add_argument("--suite", type=Path, default=Path("suites/micro"))
    args = parser.parse_args()
    print(kind_table(args.log_dir, args.suite))


if __name__ == "__main__":
    main()
