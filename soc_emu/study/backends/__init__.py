"""Backends run work somewhere: ``local`` (a process pool on this machine) or ``ray`` (Ray tasks on a local or
remote Ray cluster).

Both offer one generic operation, :meth:`Backend.map`: apply a picklable module-level function to
picklable items on the workers and return the results in item order (``on_result`` sees each result as
it arrives). A study's runs are one use (:meth:`Backend.run` maps :func:`soc_emu.study.worker.run_chunk`
over batches of :class:`~soc_emu.study.expand.RunSpec`, so both backends give the same rows); the learned
scheduler's training rollouts are another (``agents.rollout.run_job`` over ``RolloutJob`` values).

A backend is also a context manager: inside ``with backend:`` its workers (the process pool, the Ray
connection) stay up across several :meth:`~Backend.map` calls, as a training loop needs; outside one,
each call starts and stops them. Failures are handled alike for every use: a function that raises stops
the map and its error propagates (the other items are cancelled); a worker process that dies is replaced
and its items redone (local), a task lost with its worker or node is retried by Ray; work still lost is
:class:`LostWork`. Ctrl-C stops the workers and propagates.

A study reports rows through a callback as batches finish, so the results table is written as the
study goes and an interruption loses at most the batches in flight.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from soc_emu.errors import SocEmuError
from soc_emu.study.expand import RunSpec

T = TypeVar("T")
R = TypeVar("R")
#: Called with the rows of each finished batch.
RowsCallback = Callable[[list[dict[str, Any]]], None]
#: Called with ``(item index, result)`` as each item of a map finishes (in finishing order).
ResultCallback = Callable[[int, Any], None]
BACKENDS = ("local", "ray")
#: At most this many runs per batch (a batch is one pool task or one Ray task).
MAX_CHUNK = 8


class LostWork(SocEmuError):
    """Items of a map that no worker could finish (workers or nodes died beyond the retries); ``lost``
    holds their indices. The results that did finish were handed to ``on_result``."""

    def __init__(self, detail: str, *, source: str, lost: Sequence[int]) -> None:
        super().__init__(detail, source=source)
        self.lost = list(lost)


class Backend(Protocol):
    """Runs a function over items somewhere and hands the results back (see the module docstring)."""

    name: str
    workers: int

    def __enter__(self) -> Backend:
        """Start the workers (once; nested ``with`` blocks share them)."""
        ...

    def __exit__(self, *exc: object) -> None:
        """Stop the workers when the outermost ``with`` block ends."""
        ...

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, on_result: ResultCallback | None = None) -> list[R]:
        """``[fn(item) for item in items]`` on the workers, in item order. ``fn`` must be a module-level
        function and the items and results picklable."""
        ...

    def run(self, runs: Sequence[RunSpec], on_rows: RowsCallback) -> None:
        """Execute every run of ``runs``; call ``on_rows`` with each finished batch's rows."""
        ...


def run_batches(backend: Backend, fn: Callable[[Sequence[RunSpec]], list[dict[str, Any]]], runs: Sequence[RunSpec],
                on_rows: RowsCallback, chunk_size: int | None = None) -> None:
    """A study's runs on ``backend``: cut into batches for its workers, ``fn`` (``run_chunk`` or a wrapper of
    it) mapped over them, each batch's rows to ``on_rows`` as it finishes. Batches lost with their workers
    are a :class:`LostWork` that counts their runs (the others are saved, so a rerun resumes)."""
    with backend:
        batches = chunks(runs, backend.workers, chunk_size)
        try:
            backend.map(fn, batches, on_result=lambda _index, rows: on_rows(rows))
        except LostWork as exc:
            runs_lost = sum(len(batches[index]) for index in exc.lost)
            raise LostWork(f"{exc.detail}: {runs_lost} runs not done; the finished runs are saved, rerun the same "
                           "command to resume", source=exc.source or "--backend", lost=exc.lost) from None


def chunks(runs: Sequence[RunSpec], workers: int, chunk_size: int | None = None) -> list[list[RunSpec]]:
    """``runs`` cut into batches: big enough to amortise the per-task overhead, small enough that every
    worker gets several (so the load stays balanced) and an interruption loses little."""
    size = chunk_size or max(1, min(MAX_CHUNK, math.ceil(len(runs) / (4 * max(1, workers)))))
    return [list(runs[i:i + size]) for i in range(0, len(runs), size)]


def default_workers() -> int:
    """One worker per core."""
    return os.cpu_count() or 1


def make_backend(name: str, *, workers: int | None = None, address: str | None = None) -> Backend:
    """The backend called ``name`` with ``workers`` workers (default: one per core)."""
    if workers is not None and workers < 1:
        raise SocEmuError(f"must be >= 1, got {workers}", source="--workers")
    if name == "local":
        if address is not None:
            raise SocEmuError("only the ray backend joins a cluster", source="--address")
        from soc_emu.study.backends.local import LocalBackend

        return LocalBackend(workers)
    if name == "ray":
        from soc_emu.study.backends.ray_backend import RayBackend

        return RayBackend(workers, address=address)
    raise SocEmuError(f"unknown backend {name!r} (known: {', '.join(BACKENDS)})", source="--backend")
