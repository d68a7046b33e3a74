"""How often the gated modes of an A/B run actually steered: per arm, the steps where a gate was read and
where it fired (the `gate_steps` / `gate_fired_steps` every sample result carries), from `rudder ab run` logs.

    .venv/bin/python -m bench.gate_firing LOG_DIR
"""

from __future__ import annotations

import argparse
from collections import defaultdict


def firing_table(log_dir: str) -> str:
    from inspect_ai.log import list_eval_logs, read_eval_log

    # a resumed run's newer log repeats the samples the first one finished: one result per (arm, sample,
    # epoch), the newest log's, as rudder.ab.results counts them
    latest: dict[tuple[str, str, int], dict] = {}
    for info in list_eval_logs(log_dir, descending=False):
        log = read_eval_log(info)
        arm = (log.eval.task_args or {}).get("arm") or log.eval.task
        for sample in log.samples or []:
            result = (sample.metadata or {}).get("rudder") or {}
            if result:
                latest[(arm, str(sample.id), sample.epoch)] = result
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # samples, steps, gate read, fired
    for (arm, _, _), result in latest.items():
        row = totals[arm]
        row[0] += 1
        row[1] += int(result.get("steps", 0))
        row[2] += int(result.get("gate_steps", 0))
        row[3] += int(result.get("gate_fired_steps", 0))
    lines = ["| arm | samples | steps | steps with a gate read | steps it fired on |", "|---|---|---|---|---|"]
    for arm, (samples, steps, read, fired) in sorted(totals.items()):
        share = f" ({fired / read:.0%} of read)" if read else ""
        lines.append(f"| {arm} | {samples} | {steps} | {read} | {fired}{share} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log_dir")
    print(firing_table(parser.parse_args().log_dir))


if __name__ == "__main__":
    main()
