"""Backends execute a study's runs: ``local`` (a process pool on this machine) or ``ray`` (Ray tasks on a
local or remote Ray cluster). Both take the same :class:`~soc_emu.study.expand.RunSpec` batches and
call :func:`soc_emu.study.worker.run_chunk`, so they give the same rows.

A backend reports rows through a callback as batches finish, so the results table is written as the
study goes and an interruption loses at most the batches in flight.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from soc_emu.errors import SocEmuError
from soc_emu.study.expand import RunSpec

#: Called with the rows of each finished batch.
RowsCallback = Callable[[list[dict[str, Any]]], None]
BACKENDS = ("local", "ray")
#: At most this many runs per batch (a batch is one pool task or one Ray task).
MAX_CHUNK = 8


class Backend(Protocol):
    """Runs batches of runs somewhere and hands their rows back."""

    name: str
    workers: int

    def run(self, runs: Sequence[RunSpec], on_rows: RowsCallback) -> None:
        """Execute every run of ``runs``; call ``on_rows`` with each finished batch's rows."""
        ...


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
