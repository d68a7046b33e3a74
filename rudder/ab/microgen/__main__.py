"""`python -m rudder.ab.microgen`: (re)write the micro suite; the same seed gives byte-identical files."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from rudder.ab.microgen import PER_KIND, SEED, generate, write_suite


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rudder.ab.microgen", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("suites/micro"), help="suite folder [suites/micro]")
    parser.add_argument("--seed", type=int, default=SEED, help=f"generator seed [{SEED}]")
    parser.add_argument("--per-kind", type=int, default=PER_KIND, help=f"tasks per kind [{PER_KIND}]")
    args = parser.parse_args(argv)
    count = write_suite(args.out, args.seed, args.per_kind)
    splits = Counter(task.split for task, _ in generate(args.seed, args.per_kind))
    print(f"{args.out}: {count} tasks ({', '.join(f'{k} {v}' for k, v in sorted(splits.items()))})")


if __name__ == "__main__":
    main()
