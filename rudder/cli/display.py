"""How the CLI shows a run: step headers, steps, summaries.

Every piece of model, tool or user text is put into a rich `Text` as plain text, never parsed as markup:
`[/x] done` would crash Rich's markup parser, and `d[key] = 1` or `[exit code 1]` would silently vanish.
Styles come only from the tuples below. Shared by `rudder run` (live) and `rudder replay` (recorded).
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.text import Text

SHOWN_LINES = 6  # observation lines shown per step


def plain(text: object, style: str = "") -> Text:
    """Text shown exactly as written (no markup, no highlighting)."""
    return Text(str(text), style=style)


def print_step_start(console: Console, index: object, kind: object, mode: object) -> None:
    console.print(plain(f"step {index} ({kind}, mode {mode})", "dim"))


def print_step(console: Console, step: dict[str, Any], *, header: bool = True) -> None:
    """One step: its steering per phase, the tool call (or free text), the observation, the timings."""
    if header:
        console.print(Text.assemble((f"step {step['index']}", "bold"), f" {step['kind']} (mode {step['mode']})"))
    for phase, vectors in (step.get("steering") or {}).items():
        if vectors:
            used = ", ".join(f"{v.get('vector')} ×{v.get('scale', 0):g}" for v in vectors)
            console.print(plain(f"  steering ({phase}): {used}", "magenta"))
    for reading in step.get("gate") or []:
        side = ">" if reading.get("above", True) else "<"
        verdict = "fired" if reading.get("fired") else "quiet"
        console.print(
            plain(
                f"  gate {reading.get('axis')}: {verdict} ({float(reading.get('value', 0)):+.3f} vs "
                f"{side}{float(reading.get('threshold', 0)):+.3f}, token {reading.get('at_token')})",
                "magenta",
            )
        )
    if step.get("tool"):
        arguments = json.dumps(step.get("arguments") or {}, ensure_ascii=False)[:200]
        console.print(Text.assemble("  ", (str(step["tool"]), "cyan"), f" {arguments}"))
    elif step.get("output"):
        console.print(Text.assemble("  ", ("wrote", "cyan"), f" {str(step['output'])[:200]}"))
    observation = str(step.get("observation") or "").strip()
    if observation:
        lines = observation.splitlines()
        shown = Text("  " + "\n  ".join(lines[:SHOWN_LINES]), style="green" if step.get("ok", True) else "red")
        if len(lines) > SHOWN_LINES:
            shown.append(f" (+{len(lines) - SHOWN_LINES} lines)", style="dim")
        console.print(shown)
    console.print(
        plain(
            f"  {step.get('generated_tokens', 0)} tokens, gen {step.get('generate_seconds', 0):.2f} s, "
            f"tool {step.get('tool_seconds', 0):.2f} s",
            "dim",
        )
    )


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    """The outcome line of a live run (the answer itself goes to stdout, the error in red)."""
    console.print(
        Text.assemble(
            (str(summary["status"]), "bold"),
            f" after {summary.get('steps', 0)} steps, {summary.get('tokens', 0)} tokens, "
            f"{summary.get('wall_seconds', 0):.1f} s ({summary.get('protocol_errors', 0)} invalid calls, "
            f"{summary.get('tool_errors', 0)} tool errors)",
        )
    )
    if summary.get("error"):
        console.print(plain(summary["error"], "red"))
