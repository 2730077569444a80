"""A static scheduling instance: one platform and a batch of jobs, each a task graph with a release time.

This is what "the optimum" refers to: every job is known in advance (no arrivals the scheduler cannot
see). :func:`instance_from_workload` turns a workload with trace arrivals (or a single application) into
one, so the same files that drive the engine define the instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from soc_emu.errors import SocEmuError
from soc_emu.model.platform import Platform
from soc_emu.model.taskgraph import TaskGraph
from soc_emu.model.workload import Workload
from soc_emu.schedulers.heft_plan import CostModel, JobToPlan

__all__ = ["InstanceJob", "StaticInstance", "instance_from_workload"]


@dataclass(frozen=True)
class InstanceJob:
    """One job of a static instance: a task graph released (available to start) at ``release_us``."""

    graph: TaskGraph
    release_us: float = 0.0


@dataclass(frozen=True)
class StaticInstance:
    """A platform and the jobs to schedule on it, all known in advance.

    Construction checks that every task can run on some PE of the platform (a :class:`SocEmuError`
    naming the graph and the task otherwise), so an instance is never infeasible.
    """

    platform: Platform
    jobs: tuple[InstanceJob, ...]

    def __post_init__(self) -> None:
        if not self.jobs:
            raise SocEmuError("an instance needs at least one job", source=self.platform.name)
        costs = CostModel(self.platform)
        for job in self.jobs:
            if not job.release_us >= 0:
                raise SocEmuError(f"release time must be >= 0, got {job.release_us}", source=job.graph.name)
            costs.info(job.graph)  # raises SocEmuError for a task no PE can run

    @classmethod
    def single(cls, platform: Platform, graph: TaskGraph) -> StaticInstance:
        """One job of ``graph`` released at time 0."""
        return cls(platform, (InstanceJob(graph),))

    @property
    def task_count(self) -> int:
        """Tasks over all jobs."""
        return sum(len(job.graph) for job in self.jobs)

    def jobs_to_plan(self) -> list[JobToPlan]:
        """The jobs as planner input (keys 0..n-1, every task free)."""
        return [JobToPlan(key=k, graph=job.graph, release_us=job.release_us) for k, job in enumerate(self.jobs)]


def instance_from_workload(platform: Platform, workload: Workload, num_jobs: int | None = None) -> StaticInstance:
    """The static instance a workload describes: its trace arrivals (the first ``num_jobs``), or one job of
    its only application released at 0 when it has no trace."""
    arrivals = workload.arrivals
    graphs = workload.mix.graphs
    if arrivals.kind != "trace":
        if len(graphs) != 1:
            raise SocEmuError("a static instance needs trace arrivals or a single application", source=workload.name)
        return StaticInstance.single(platform, graphs[0])
    times: Sequence[float] = arrivals.trace_us[: num_jobs] if num_jobs is not None else arrivals.trace_us
    if arrivals.trace_apps is not None:
        jobs = tuple(InstanceJob(workload.mix.graph(app), t) for app, t in zip(arrivals.trace_apps, times))
    elif len(graphs) == 1:
        jobs = tuple(InstanceJob(graphs[0], t) for t in times)
    else:
        raise SocEmuError("a trace over a mix of applications must name each arrival's application",
                          source=workload.name)
    return StaticInstance(platform, jobs)
