"""Shared fixtures for emulator tests: small platforms, graphs and workloads built in Python.

The builders are exposed as fixtures returning functions (``make_platform``, ``make_graph``, ...), so any
test under ``tests/emu`` can ask for them (or import them from :mod:`emu_builders`). ``random_case`` draws a random
platform + workload from a seed, for property-style tests (invariants across schedulers and options).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from soc_emu.model.platform import Platform, ProcessingElement
from soc_emu.model.taskgraph import TaskGraph
from soc_emu.model.workload import Workload

from emu_builders import build_graph, build_pe, build_platform, build_random_case, build_workload


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
