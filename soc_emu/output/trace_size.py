"""Up-front estimate of how large a run's traces will be, so a run never fills a disk unannounced.

``trace.csv`` takes about 115 bytes and ``trace.json`` about 245 bytes per executed task (measured on
the built-in platforms: 2,000 ds3_mix jobs, 34,537 tasks, 3.9 MB + 8.4 MB). The number of jobs is known
for ``--jobs`` runs and expected (duration / mean gap) for ``--duration`` runs; the tasks per job are the
mix's weighted mean. Re-executions after PE failures come on top, so this is a lower bound then.
"""

from __future__ import annotations

from dataclasses import dataclass

from soc_emu.engine.options import RunOptions
from soc_emu.model.workload import Workload

#: Bytes per task of trace.csv + trace.json together.
BYTES_PER_TASK = 360
#: Largest traces a run writes unless told otherwise (``--trace-limit``).
DEFAULT_TRACE_LIMIT_BYTES = 10**9


@dataclass(frozen=True)
class TraceEstimate:
    """Expected jobs, tasks and trace bytes of one run."""

    jobs: float
    tasks: float
    bytes: float

    def describe(self) -> str:
        """``"about 4.6 GB (1,000,000 jobs x 9.0 tasks)"``."""
        return (f"about {_human(self.bytes)} ({self.jobs:,.0f} jobs x {self.tasks / max(self.jobs, 1):.1f} "
                f"tasks)")


def estimate_trace(workload: Workload, options: RunOptions) -> TraceEstimate:
    """The expected size of the traces of a run of ``workload`` under ``options``."""
    arrivals = workload.arrivals
    limits: list[float] = []
    if options.num_jobs is not None:
        limits.append(float(options.num_jobs))
    if arrivals.kind == "trace":
        limits.append(float(len(arrivals.trace_us)))
    elif options.duration_us is not None:
        limits.append(options.duration_us / arrivals.mean_interarrival_us + 1.0)
    jobs = min(limits) if limits else 0.0
    weights = workload.mix.normalised
    tasks_per_job = sum(w * len(g.tasks) for w, g in zip(weights, workload.mix.graphs))
    tasks = jobs * tasks_per_job
    return TraceEstimate(jobs=jobs, tasks=tasks, bytes=tasks * BYTES_PER_TASK)


def _human(size: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size:.0f} B"
