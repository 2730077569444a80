"""The job stream: when jobs arrive and which application each one is.

:class:`JobSource` turns a workload's :class:`~soc_emu.model.workload.ArrivalProcess` and
:class:`~soc_emu.model.workload.JobMix` into a sequence of ``(arrival time, task graph)``. It draws from its
own generator (two independent child streams: gaps and application choice), so the sequence depends only
on the seed, never on the scheduler. Poisson and fixed streams start with a job at time 0 (the run starts
busy); later gaps are exponential (Poisson) or constant (fixed).
"""

from __future__ import annotations

import math

import numpy as np

from soc_emu.model.taskgraph import TaskGraph
from soc_emu.model.workload import Workload

_CHUNK = 1024


class JobSource:
    """Arrivals of one run, drawn lazily (constant memory however many jobs are generated).

    Parameters
    ----------
    workload:
        Mix and arrival process.
    rng:
        The run's arrival generator.
    max_jobs:
        Stop after this many arrivals (``None``: no limit).
    until_us:
        No arrival at or after this time (``None``: no limit).
    """

    def __init__(
        self, workload: Workload, rng: np.random.Generator, *, max_jobs: int | None = None, until_us: float | None = None
    ) -> None:
        gap_rng, mix_rng = rng.spawn(2)
        self._gap_rng = gap_rng
        self._mix_rng = mix_rng
        self._arrivals = workload.arrivals
        self._graphs = workload.mix.graphs
        cum = np.cumsum(workload.mix.normalised)
        cum[-1] = 1.0
        self._cum = cum
        self._max_jobs = max_jobs if max_jobs is not None else math.inf
        self._until = until_us if until_us is not None else math.inf
        self._count = 0
        self._time = 0.0
        self._gaps: list[float] = []
        self._apps: list[int] = []
        self._trace_graphs: tuple[TaskGraph, ...] | None = None
        if self._arrivals.kind == "trace" and self._arrivals.trace_apps is not None:
            self._trace_graphs = tuple(workload.mix.graph(name) for name in self._arrivals.trace_apps)

    @property
    def generated(self) -> int:
        """Arrivals handed out so far."""
        return self._count

    def next(self) -> tuple[float, TaskGraph] | None:
        """The next arrival, or ``None`` when the stream is over."""
        k = self._count
        if k >= self._max_jobs:
            return None
        arrivals = self._arrivals
        if arrivals.kind == "trace":
            if k >= len(arrivals.trace_us):
                return None
            t = float(arrivals.trace_us[k])
        elif arrivals.kind == "fixed":
            t = k * arrivals.mean_interarrival_us
        else:
            if k > 0:
                if not self._gaps:
                    self._gaps = self._gap_rng.exponential(arrivals.mean_interarrival_us, _CHUNK).tolist()[::-1]
                self._time += self._gaps.pop()
            t = self._time
        if t >= self._until:
            return None
        self._count = k + 1
        if self._trace_graphs is not None:
            return t, self._trace_graphs[k]
        if len(self._graphs) == 1:
            return t, self._graphs[0]
        if not self._apps:
            u = self._mix_rng.random(_CHUNK)
            self._apps = np.searchsorted(self._cum, u, side="right").tolist()[::-1]
        return t, self._graphs[self._apps.pop()]
