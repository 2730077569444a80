"""The local backend: a pool of worker processes on this machine (``--workers N``, default one per core).

Workers start with the ``forkserver`` method (``spawn`` where there is none): they never inherit the
parent's threads (Ray's, torch's), and a fresh worker imports only the emulator, not torch, unless one
of its runs asks for a learned scheduler. Workers ignore SIGINT; the parent stops them on Ctrl-C.

With one worker the runs execute in this process (no pool, no pickling). A worker that dies (killed,
out of memory) breaks the pool; the backend starts a new pool and resubmits the batches that had not
reported, up to :attr:`LocalBackend.max_restarts` times, then gives up with a message to rerun (the
finished runs are in the table, so the rerun resumes).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from soc_emu.errors import SocEmuError
from soc_emu.study.backends import RowsCallback, chunks, default_workers
from soc_emu.study.expand import RunSpec
from soc_emu.study.worker import run_chunk

#: Modules the fork server imports once, so that each worker it forks starts warm.
PRELOAD = ["soc_emu.study.worker", "soc_emu.runner", "soc_emu.schedulers", "soc_emu.engine.simulation"]


def _worker_init() -> None:
    """Leave Ctrl-C to the parent, and keep numeric libraries to one thread per worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")


class LocalBackend:
    """Runs batches in a process pool (see the module docstring)."""

    name = "local"

    def __init__(self, workers: int | None = None, *, chunk_size: int | None = None, max_restarts: int = 3) -> None:
        self.workers = workers or default_workers()
        self.chunk_size = chunk_size
        self.max_restarts = max_restarts
        self._pool: ProcessPoolExecutor | None = None

    def run(self, runs: Sequence[RunSpec], on_rows: RowsCallback) -> None:
        batches = chunks(runs, self.workers, self.chunk_size)
        if self.workers == 1 or len(batches) == 1:
            for batch in batches:
                on_rows(run_chunk(batch))
            return
        restarts = 0
        while batches:
            batches = self._run_pool(batches, on_rows)
            if batches:
                restarts += 1
                if restarts > self.max_restarts:
                    raise SocEmuError(f"worker processes died {restarts} times; the finished runs are saved, "
                                      "rerun the same command to resume", source="--backend local")

    def worker_pids(self) -> list[int]:
        """Process ids of the current pool's workers (empty without a pool)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return [p.pid for p in processes.values() if p.pid is not None]

    def _run_pool(self, batches: list[list[RunSpec]], on_rows: RowsCallback) -> list[list[RunSpec]]:
        """Run ``batches`` in a new pool; return the batches lost when a worker died (none normally)."""
        pool = ProcessPoolExecutor(max_workers=min(self.workers, len(batches)), mp_context=_context(),
                                   initializer=_worker_init)
        self._pool = pool
        futures: dict[Future, list[RunSpec]] = {pool.submit(run_chunk, batch): batch for batch in batches}
        left = set(futures)
        try:
            while left:
                finished, left = wait(left, return_when=FIRST_COMPLETED)
                broken = [f for f in finished if isinstance(f.exception(), BrokenProcessPool)]
                for future in finished:
                    if future not in broken:
                        on_rows(future.result())
                if broken:
                    lost = [futures[f] for f in broken]
                    for future in left:  # report what finished before the pool broke
                        if future.done() and future.exception() is None:
                            on_rows(future.result())
                        else:
                            lost.append(futures[future])
                    _stop(pool)
                    return lost
        except BaseException:
            _stop(pool)
            raise
        finally:
            self._pool = None
        pool.shutdown()
        return []


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
