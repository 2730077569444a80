"""Builders of small platforms, graphs and workloads for emulator tests (plain functions).

Tests import them by name (``from emu_builders import build_graph``); :mod:`conftest` also exposes them
as fixtures. They live outside ``conftest.py`` because several test folders have a ``conftest`` module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

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
