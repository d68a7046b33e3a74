"""Engine workers and the scheduler that feeds them.

`Pool.run(request, priority)` is awaited by the Inspect solver. Waiting requests go out lowest priority
first, and priority is (epoch, task index, arm index): every arm of a task runs next to the others, so
drift on a shared machine hits all arms alike. A worker that crashes or overruns its time is replaced and
the sample is reported as an infrastructure failure (`InfraError`), never as a task failure.

Backends: `local` (N `python -m rudder.ab.worker` processes, threads per worker = cores // N, so the
spinning llama.cpp threads never oversubscribe the machine) and `ray` (N actors holding the same `Host`).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import os
import select
import subprocess
import sys
import time
from typing import Any

from rudder.ab.sample import InfraError, SampleRequest, SampleResult
from rudder.engine.config import default_threads


def threads_per_worker(jobs: int, cores: int | None = None) -> int:
    """Split the thread budget ($RUDDER_THREADS, else all cores but one, as the engine's default) among
    the workers, at least one each."""
    if cores is None:
        cores = default_threads()
    return max(1, cores // max(1, jobs))


class LocalWorker:
    """A worker subprocess; restarted by the pool when it dies or times out."""

    def __init__(self, name: str, threads: int, model: str | None) -> None:
        self.name, self.threads, self.model = name, threads, model
        self.proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        cmd = [sys.executable, "-m", "rudder.ab.worker", "--threads", str(self.threads)]
        if self.model:
            cmd += ["--model", self.model]
        env = {**os.environ, "RUDDER_THREADS": str(self.threads)}
        target = os.environ.get("RUDDER_AB_WORKER_LOG") or os.devnull  # llama.cpp's stderr, for debugging
        with open(target, "a") as log:
            return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, env=env)

    def call(self, line: str, timeout: float) -> str:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.close()
            raise InfraError(f"worker {self.name} died before the sample started") from None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.close()
            raise InfraError(f"worker {self.name}: sample timed out after {timeout:.0f} s")
        answer = self.proc.stdout.readline()
        if not answer:
            code = self.proc.wait()
            self.proc = None
            raise InfraError(f"worker {self.name} crashed (exit {code})")
        return answer

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None


class RayWorker:
    """The same Host inside a Ray actor (one engine per actor process)."""

    def __init__(self, name: str, threads: int, model: str | None) -> None:
        import ray

        from rudder.ab.worker import Host

        self.name = name
        actor_cls = ray.remote(num_cpus=threads, max_restarts=-1)(Host)
        env = {"RUDDER_THREADS": str(threads), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
        self.actor = actor_cls.options(runtime_env={"env_vars": env}).remote(threads, model, name)

    def call(self, line: str, timeout: float) -> str:
        import ray

        try:
            return ray.get(self.actor.handle.remote(line), timeout=timeout)
        except ray.exceptions.GetTimeoutError:
            ray.kill(self.actor, no_restart=False)
            raise InfraError(f"ray worker {self.name}: sample timed out after {timeout:.0f} s") from None
        except ray.exceptions.RayError as exc:
            raise InfraError(f"ray worker {self.name}: {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        import ray

        ray.kill(self.actor)


class Pool:
    def __init__(self, workers: list[Any], timeout: float = 900.0, on_done: Any = None) -> None:
        self.workers, self.timeout, self.on_done = workers, timeout, on_done
        self._idle = list(workers)
        self._heap: list[tuple[Any, int, SampleRequest, asyncio.Future[SampleResult]]] = []
        self._seq = itertools.count()
        self._started: float | None = None

    @classmethod
    def create(cls, backend: str, jobs: int, model: str | None = None, **kwargs: Any) -> Pool:
        threads = threads_per_worker(jobs)
        kind = RayWorker if backend == "ray" else LocalWorker
        return cls([kind(f"w{i}", threads, model) for i in range(jobs)], **kwargs)

    async def run(self, request: SampleRequest, priority: Any) -> SampleResult:
        future: asyncio.Future[SampleResult] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (priority, next(self._seq), request, future))
        if self._started is None:
            self._started = time.monotonic()
            await asyncio.sleep(0.3)  # let the other arms queue up, so the very first dispatch is in order too
        self._kick()
        return await future

    def _kick(self) -> None:
        while self._idle and self._heap:
            worker = self._idle.pop(0)
            _, _, request, future = heapq.heappop(self._heap)
            asyncio.get_running_loop().create_task(self._serve(worker, request, future))

    async def _serve(self, worker: Any, request: SampleRequest, future: asyncio.Future[SampleResult]) -> None:
        line = request.model_dump_json()
        failed = True
        try:
            answer = await asyncio.to_thread(worker.call, line, self.timeout)
            data = json.loads(answer)
            if "infra" in data:
                raise InfraError(data["infra"])
            future.set_result(SampleResult.model_validate(data["result"]))
            failed = False
        except Exception as exc:
            if not future.done():
                future.set_exception(exc if isinstance(exc, InfraError) else InfraError(f"{type(exc).__name__}: {exc}"))
        finally:
            if self.on_done is not None:
                self.on_done(failed)
            self._idle.append(worker)
            self._kick()

    def close(self) -> None:
        for worker in self.workers:
            with contextlib.suppress(Exception):
                worker.close()
