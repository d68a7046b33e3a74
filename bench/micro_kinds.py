"""Pass rate per task kind (the first tag) and arm from `rudder ab run` logs, with Wilson 95% CIs.

    .venv/bin/python -m bench.micro_kinds LOG_DIR [LOG_DIR ...] [--suite suites/micro]

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


def kind_table(log_dirs: list[str], suite: Path) -> str:
    """One table over several log dirs (e.g. a pilot continued in a second dir; a (arm, task, epoch) found
    twice counts once, the later dir's)."""
    kinds = {t.id: (t.tags[0] if t.tags else "?") for t in load_suite(suite).tasks}
    rows, arms, infra = {}, [], 0
    for log_dir in log_dirs:
        results = load_results(log_dir)
        rows.update({row.key: row for row in results.finished()})
        arms += [a for a in results.arms if a not in arms]
        infra += len(results.infra())
    cells: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for row in rows.values():
        cells[(row.arm, kinds.get(row.task, "?"))].append(row.outcome == "pass")
        cells[(row.arm, "ALL")].append(row.outcome == "pass")
    names = [*sorted({kind for _, kind in cells} - {"ALL"}), "ALL"]
    lines = ["| kind | " + " | ".join(arms) + " |", "|---|" + "---|" * len(arms)]
    for kind in names:
        row = []
        for arm in arms:
            outcomes = cells.get((arm, kind), [])
            if not outcomes:
                row.append("·")
                continue
            low, high = pass_rate_ci(sum(outcomes), len(outcomes))
            row.append(f"{sum(outcomes)}/{len(outcomes)} ({low:.0%}–{high:.0%})")
        lines.append(f"| {kind} | " + " | ".join(row) + " |")
    if infra:
        lines.append(f"\n{infra} infrastructure failures left out.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log_dirs", nargs="+")
    parser.add_argument("--suite", type=Path, default=Path("suites/micro"))
    args = parser.parse_args()
    print(kind_table(args.log_dirs, args.suite))


if __name__ == "__main__":
    main()
