"""Shared fixtures for emulator tests: small platforms, graphs and workloads built in Python.

The builders are exposed as fixtures returning functions (``make_platform``, ``make_graph``, ...), so any
test under ``tests/emu`` can ask for them without importing this file. ``random_case`` draws a random
platform + workload from a seed, for property-style tests (invariants across schedulers and options).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from soc_emu.model.platform import Interconnect, Link, Platform, ProcessingElement
from soc_emu.model.taskgraph import Edge, Task, TaskGraph
from soc_emu.model.workload import ArrivalProcess, JobMix, Workload


def build_pe(
    index: int,
    times: dict[str, float],
    *,
    name: str | None = None,
    pe_type: str = "cpu",
    cluster: str = "c0",
    capacity: int = 1,
    launch_overhead_us: float = 0.0,
    reconfig_time_us: float = 0.0,
) -> ProcessingElement:
    """One PE with the given kernel -> nominal time table."""
    return ProcessingElement(
        index=index,
        name=name or f"{pe_type}{index}",
        pe_type=pe_type,
        cluster=cluster,
        capacity=capacity,
        exec_times_us=dict(times),
        active_power_w=1.0,
        idle_power_w=0.1,
        launch_overhead_us=launch_overhead_us,
        reconfig_time_us=reconfig_time_us,
    )


def build_platform(
    pes: Sequence[ProcessingElement],
    *,
    bandwidth: float = math.inf,
    latency_us: float = 0.0,
    same_pe: Link | None = None,
    shared_bus: bool = False,
    name: str = "test",
) -> Platform:
    """A platform whose PEs share one link type (``bandwidth`` volume units/us, ``latency_us``)."""
    return Platform(
        name=name,
        pes=tuple(pes),
        interconnect=Interconnect(
            default=Link(bandwidth=bandwidth, latency_us=latency_us),
            same_pe=same_pe if same_pe is not None else Link(bandwidth=math.inf),
            shared_bus=shared_bus,
        ),
    )


def build_graph(
    kernels: Sequence[str],
    edges: Sequence[tuple[int, int, float]] = (),
    *,
    name: str = "app",
    deadline_us: float | None = None,
) -> TaskGraph:
    """A task graph from kernels (task ``i`` is named ``t{i}``) and ``(src, dst, volume)`` edges."""
    return TaskGraph(
        name=name,
        tasks=tuple(Task(i, f"t{i}", k) for i, k in enumerate(kernels)),
        edges=tuple(Edge(s, d, v) for s, d, v in edges),
        deadline_us=deadline_us,
        source=f"test:{name}",
    )


def build_workload(
    graphs: Sequence[TaskGraph] | TaskGraph,
    *,
    arrivals: ArrivalProcess | None = None,
    probabilities: Sequence[float] | None = None,
    max_jobs_in_system: int | None = None,
    drop_when_full: bool = False,
) -> Workload:
    """A workload; by default a single job arriving at time 0."""
    if isinstance(graphs, TaskGraph):
        graphs = (graphs,)
    return Workload(
        name="test",
        mix=JobMix(tuple(graphs), tuple(probabilities) if probabilities else (1.0,) * len(graphs)),
        arrivals=arrivals or ArrivalProcess(kind="trace", trace_us=(0.0,)),
        max_jobs_in_system=max_jobs_in_system,
        drop_when_full=drop_when_full,
        source="test",
    )


def build_random_graph(rng: np.random.Generator, kernels: Sequence[str], n: int, name: str, edge_p: float = 0.3) -> TaskGraph:
    """A random DAG: edges only go from lower to higher index; volumes 0..50 (some zero)."""
    ks = [kernels[int(rng.integers(len(kernels)))] for _ in range(n)]
    edges = []
    for j in range(1, n):
        for i in range(j):
            if rng.random() < edge_p:
                edges.append((i, j, float(rng.choice([0.0, rng.uniform(1, 50)]))))
    return build_graph(ks, edges, name=name)


def build_random_case(seed: int, *, shared_bus: bool = False) -> tuple[Platform, Workload]:
    """A random heterogeneous platform (CPUs, a GPU with launch overhead, a 2-slot FPGA with
    reconfiguration, an accelerator) and a 3-app Poisson workload that keeps it busy."""
    rng = np.random.default_rng(seed)
    kernels = ["a", "b", "c", "d", "e"]
    pes = []
    for i in range(3):
        pes.append(build_pe(i, {k: float(rng.uniform(5, 30)) for k in kernels}, pe_type="cpu", cluster="cpu"))
    pes.append(build_pe(3, {k: float(rng.uniform(2, 10)) for k in ("a", "b", "c")}, pe_type="gpu", cluster="acc",
                        launch_overhead_us=1.5))
    pes.append(build_pe(4, {k: float(rng.uniform(1, 6)) for k in ("b", "d")}, pe_type="fpga", cluster="acc",
                        capacity=2, reconfig_time_us=4.0))
    pes.append(build_pe(5, {"e": 1.0, "a": 2.0}, pe_type="acc_fft", cluster="acc", capacity=2))
    platform = Platform(
        name=f"random{seed}",
        pes=tuple(pes),
        interconnect=Interconnect(
            default=Link(bandwidth=5.0, latency_us=0.5),
            same_pe=Link(bandwidth=math.inf),
            cluster_links={("cpu", "cpu"): Link(bandwidth=20.0)},
            shared_bus=shared_bus,
        ),
    )
    graphs = tuple(build_random_graph(rng, kernels, int(rng.integers(1, 12)), f"app{i}") for i in range(3))
    workload = build_workload(
        graphs,
        arrivals=ArrivalProcess(kind="poisson", mean_interarrival_us=float(rng.uniform(15, 60))),
        probabilities=(0.5, 0.3, 0.2),
        max_jobs_in_system=int(rng.integers(2, 8)) if rng.random() < 0.5 else None,
        drop_when_full=bool(rng.random() < 0.3),
    )
    return platform, workload


@pytest.fixture
def make_pe() -> Callable[..., ProcessingElement]:
    return build_pe


@pytest.fixture
def make_platform() -> Callable[..., Platform]:
    return build_platform


@pytest.fixture
def make_graph() -> Callable[..., TaskGraph]:
    return build_graph


@pytest.fixture
def make_workload() -> Callable[..., Workload]:
    return build_workload


@pytest.fixture
def random_case() -> Callable[..., tuple[Platform, Workload]]:
    return build_random_case


@pytest.fixture
def two_cpus() -> Platform:
    """Two identical CPUs (kernels a: 10, b: 20 us) joined by a link of bandwidth 1, latency 0."""
    return build_platform([build_pe(0, {"a": 10.0, "b": 20.0}), build_pe(1, {"a": 10.0, "b": 20.0})], bandwidth=1.0)


@pytest.fixture
def hetero_platform() -> Platform:
    """A small heterogeneous SoC: big and little CPU, a GPU (launch 2 us), a 2-slot FPGA (reconfig 5 us)."""
    return build_platform(
        [
            build_pe(0, {"fft": 40.0, "mm": 60.0, "vit": 80.0}, pe_type="cpu_big", name="big0"),
            build_pe(1, {"fft": 90.0, "mm": 150.0, "vit": 200.0}, pe_type="cpu_little", name="little0"),
            build_pe(2, {"fft": 8.0, "mm": 10.0}, pe_type="gpu", name="gpu0", launch_overhead_us=2.0),
            build_pe(3, {"fft": 5.0, "vit": 6.0}, pe_type="fpga", name="fpga0", capacity=2, reconfig_time_us=5.0),
        ],
        bandwidth=10.0,
        latency_us=1.0,
    )


class Recorder:
    """Observer keeping every record (tests only: the engine itself keeps none)."""

    def __init__(self) -> None:
        self.platform: Platform | None = None
        self.tasks: list = []
        self.jobs: list = []
        self.pe_events: list = []
        self.transfers: list = []
        self.end_us: float | None = None

    def on_start(self, platform: Platform, start_us: float) -> None:
        self.platform = platform

    def on_task(self, record) -> None:
        self.tasks.append(record)

    def on_job(self, record) -> None:
        self.jobs.append(record)

    def on_pe_event(self, record) -> None:
        self.pe_events.append(record)

    def on_transfer(self, record) -> None:
        self.transfers.append(record)

    def on_finish(self, end_us: float) -> None:
        self.end_us = end_us

    def completed(self) -> dict[tuple[int, int], object]:
        """Completed task records by (job_id, task)."""
        return {(r.job_id, r.task): r for r in self.tasks if r.completed}

    def makespan(self) -> float:
        return max(r.finish_us for r in self.jobs if not r.dropped)


class FixedScheduler:
    """A test scheduler with a fixed mapping: task index -> (pe, priority), by application name.

    Follows the Scheduler protocol the engine uses (binding, dispatch_order, reset, decide); it assigns
    every ready task whose PE is up (under late binding: only to idle PEs, as the engine requires).
    """

    def __init__(self, mapping: dict, *, binding=None, dispatch_order: str = "first_ready") -> None:
        from soc_emu.engine.view import Binding

        self.mapping = mapping
        self.binding = binding if binding is not None else Binding.ON_READY
        self.dispatch_order = dispatch_order

    def reset(self, platform, rng) -> None:
        self.rng = rng

    def choose(self, view, ref) -> tuple[int, float]:
        """``mapping`` is ``{task: pe or (pe, priority)}`` for every app, or ``{app: {task: ...}}``."""
        entry = self.mapping.get(view.jobs[ref.job_id].app, self.mapping)
        value = entry[ref.task]
        return value if isinstance(value, tuple) else (value, 0.0)

    def decide(self, view):
        from soc_emu.engine.view import Assignment, Binding

        free = None
        if view.binding is Binding.LATE:
            free = {i: view.pes[i].pe.capacity - view.pes[i].busy_slots for i in view.idle_pes()}
        out = []
        for ref in view.ready:
            pe, prio = self.choose(view, ref)
            if view.pes[pe].down or (free is not None and free.get(pe, 0) <= 0):
                continue
            if free is not None:
                free[pe] -= 1
            out.append(Assignment(ref, pe, prio))
        return out


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def fixed_scheduler() -> type[FixedScheduler]:
    return FixedScheduler
