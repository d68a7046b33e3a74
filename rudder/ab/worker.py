"""An engine host: one process, one llama.cpp engine (it is not thread-safe), samples one at a time.

Local backend: `python -m rudder.ab.worker --threads N [--model PATH]` reads one JSON `SampleRequest`
per line on stdin and answers one JSON line on stdout: {"result": SampleResult} or {"infra": message}.
llama.cpp's own output is sent to stderr so stdout carries only answers. The Ray backend wraps the same
`Host` in an actor.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from rudder.ab.sample import InfraError, SampleRequest, run_sample


class Host:
    """Loads the engine on first use and runs samples on it."""

    def __init__(self, threads: int, model: str | None = None, name: str = "") -> None:
        self.threads, self.model, self.name = threads, model, name or f"pid{os.getpid()}"
        self.engine: Any = None

    def handle(self, line: str) -> str:
        try:
            request = SampleRequest.model_validate_json(line)
            if self.engine is None:
                from rudder.engine.config import EngineConfig
                from rudder.engine.factory import load_engine

                self.engine = load_engine(
                    EngineConfig(model_path=Path(self.model) if self.model else None, n_threads=self.threads)
                )
            result = run_sample(self.engine, request, worker=self.name)
            return json.dumps({"result": result.model_dump(mode="json")})
        except InfraError as exc:
            return json.dumps({"infra": str(exc)})
        except Exception as exc:  # anything else is the harness's failure too, never the task's
            traceback.print_exc(file=sys.stderr)
            return json.dumps({"infra": f"{type(exc).__name__}: {exc}"})


def _exit_with_parent() -> None:
    """A worker whose driver was killed (kill -9) stops at once instead of finishing its sample."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", default=None)
    args = parser.parse_args(argv)
    os.environ["RUDDER_THREADS"] = str(args.threads)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # llama.cpp and stray prints go to stderr
    _exit_with_parent()
    host = Host(args.threads, args.model)
    for line in sys.stdin:
        if line.strip():
            answers.write(host.handle(line) + "\n")
            answers.flush()


if __name__ == "__main__":
    main()
