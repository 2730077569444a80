"""The local backend: a pool of worker processes on this machine (``--workers N``, default one per core).

Workers start with the ``forkserver`` method (``spawn`` where there is none): they never inherit the
parent's threads (Ray's, torch's), and a fresh worker imports only the emulator, not torch, unless one
of its items needs it (a learned scheduler's run, a training rollout). Workers ignore SIGINT and keep
numeric libraries (torch included, which reads ``OMP_NUM_THREADS`` when imported) to one thread; the
parent stops them on Ctrl-C.

With one worker (or one item) a map executes in this process (no pool, no pickling). Inside ``with
backend:`` the pool stays up across maps; outside, each map starts and stops one. A worker that dies
(killed, out of memory) breaks the pool; the backend starts a new pool and resubmits the items that had
not reported, up to :attr:`LocalBackend.max_restarts` times, then raises :class:`LostWork` (a study's
finished runs are in its table, so a rerun resumes).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from soc_emu.study.backends import LostWork, ResultCallback, RowsCallback, default_workers, run_batches
from soc_emu.study.expand import RunSpec
from soc_emu.study.worker import run_chunk

T = TypeVar("T")
R = TypeVar("R")
#: Modules the fork server imports once, so that each worker it forks starts warm.
PRELOAD = ["soc_emu.study.worker", "soc_emu.runner", "soc_emu.schedulers", "soc_emu.engine.simulation"]


def _worker_init() -> None:
    """Leave Ctrl-C to the parent, and keep numeric libraries to one thread per worker (the process-level
    thread setting of every library a worker imports later, torch's included)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")


class LocalBackend:
    """Maps functions over items in a process pool (see the module docstring)."""

    name = "local"

    def __init__(self, workers: int | None = None, *, chunk_size: int | None = None, max_restarts: int = 3) -> None:
        self.workers = workers or default_workers()
        self.chunk_size = chunk_size
        self.max_restarts = max_restarts
        self._pool: ProcessPoolExecutor | None = None
        self._depth = 0

    def __enter__(self) -> LocalBackend:
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def run(self, runs: Sequence[RunSpec], on_rows: RowsCallback) -> None:
        run_batches(self, run_chunk, runs, on_rows, self.chunk_size)

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, on_result: ResultCallback | None = None) -> list[R]:
        results: dict[int, R] = {}

        def done(index: int, result: R) -> None:
            results[index] = result
            if on_result is not None:
                on_result(index, result)

        if self.workers == 1 or len(items) <= 1:
            for index, item in enumerate(items):
                done(index, fn(item))
        else:
            with self:
                todo = list(range(len(items)))
                restarts = 0
                while todo:
                    todo = self._map_in_pool(fn, items, todo, done)
                    if todo:
                        restarts += 1
                        if restarts > self.max_restarts:
                            raise LostWork(f"worker processes died {restarts} times", source="--backend local", lost=todo)
        return [results[index] for index in range(len(items))]

    def worker_pids(self) -> list[int]:
        """Process ids of the current pool's workers (empty without a pool)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return [p.pid for p in processes.values() if p.pid is not None]

    def _map_in_pool(self, fn: Callable[[T], R], items: Sequence[T], todo: list[int],
                     done: Callable[[int, R], None]) -> list[int]:
        """Run ``fn`` over ``items[i] for i in todo`` in the pool (started if needed); return the indices lost
        when a worker died (none normally; the broken pool is then discarded)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=_context(), initializer=_worker_init)
        pool = self._pool
        futures: dict[Future[Any], int] = {pool.submit(fn, items[i]): i for i in todo}
        left = set(futures)
        try:
            while left:
                finished, left = wait(left, return_when=FIRST_COMPLETED)
                broken = [f for f in finished if isinstance(f.exception(), BrokenProcessPool)]
                for future in finished:
                    if future not in broken:
                        done(futures[future], future.result())
                if broken:
                    lost = [futures[f] for f in broken]
                    for future in left:  # report what finished before the pool broke
                        if future.done() and future.exception() is None:
                            done(futures[future], future.result())
                        else:
                            lost.append(futures[future])
                    self._discard_pool()
                    return sorted(lost)
        except BaseException:
            self._discard_pool()
            raise
        return []

    def _discard_pool(self) -> None:
        if self._pool is not None:
            _stop(self._pool)
            self._pool = None


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop ``pool`` now: cancel queued batches and terminate the workers (their runs are lost)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)


def _context() -> mp.context.BaseContext:
    """The ``forkserver`` context with the emulator preloaded (``spawn`` where forkserver is missing)."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx
