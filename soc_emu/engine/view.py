"""The scheduler interface: what a scheduler sees at a decision point, and what it answers.

This is the only contract between the engine and every scheduler (heuristics, HEFT, the learned agent,
an outside agent behind gymnasium). The engine pauses at a decision point and exposes a
:class:`SystemView`; the decision is a list of :class:`Assignment`. Nothing else crosses the boundary.

The state objects below are the engine's *live* records, exposed without copying so a decision costs
no allocation. Schedulers must treat them as read-only.

Binding styles
--------------
``Binding.ON_READY`` (DS3 style)
    A decision point occurs whenever unassigned ready tasks exist after an event. The scheduler
    should assign every task in ``view.ready`` (tasks it leaves out are offered again at the next
    decision point). An assigned task waits in its PE's queue until its inputs have arrived and a slot
    is free; among such tasks the lowest ``priority`` starts first (ties: first assigned first).
``Binding.LATE``
    A decision point occurs only when unassigned ready tasks exist *and* some up PE has an idle slot
    and an empty queue. The scheduler may assign tasks only to such idle PEs (``view.idle_pes()``), at
    most one task per idle slot; the engine rejects anything else.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from soc_emu.model.platform import Platform, ProcessingElement
from soc_emu.model.taskgraph import TaskGraph


class Binding(enum.Enum):
    """When tasks are bound to PEs (see the module docstring)."""

    ON_READY = "on_ready"
    LATE = "late"


class Trigger(enum.Enum):
    """The event that opened a decision point."""

    ARRIVAL = "arrival"
    TASK_DONE = "task_done"
    PE_FREE = "pe_free"
    PE_FAILURE = "pe_failure"
    PE_REPAIR = "pe_repair"


class TaskStatus(enum.IntEnum):
    """Life cycle of a task inside the engine."""

    WAITING = 0  #: some predecessor has not finished
    READY = 1  #: all predecessors finished, not assigned to a PE
    QUEUED = 2  #: assigned to a PE, not started (inputs may still be in flight)
    RUNNING = 3  #: executing on a PE slot
    DONE = 4  #: finished


class TaskRef(NamedTuple):
    """A task of a job in the system: ``(job_id, task index in the job's graph)``."""

    job_id: int
    task: int


class Assignment(NamedTuple):
    """A decision: run ``task`` on PE ``pe``. Lower ``priority`` starts first among a PE's queued tasks."""

    task: TaskRef
    pe: int
    priority: float = 0.0


@dataclass(slots=True, eq=False)
class JobState:
    """A job admitted into the system and not yet finished (engine-owned, read-only to schedulers).

    Per-task lists are indexed by task index in ``graph``.
    """

    job_id: int
    graph: TaskGraph
    arrival_us: float
    admitted_us: float
    deadline_us: float | None  #: absolute deadline, or None
    status: list[TaskStatus]
    pe: list[int]  #: PE the task is assigned to / ran on; -1 when not assigned
    ready_us: list[float]  #: when the last predecessor finished (nan while WAITING)
    start_us: list[float]  #: start time (nan until RUNNING)
    finish_us: list[float]  #: finish time (nan until DONE)
    remaining_preds: list[int]  #: predecessors not yet DONE
    tasks_done: int = 0

    @property
    def app(self) -> str:
        """Application name of this job."""
        return self.graph.name


@dataclass(slots=True, eq=False)
class PEState:
    """Run-time state of one PE (engine-owned, read-only to schedulers)."""

    pe: ProcessingElement
    busy_slots: int  #: slots executing a task now (in_order dispatch: or held for a task awaiting its inputs)
    down: bool  #: failed and not yet repaired
    running: list[TaskRef]  #: tasks holding a slot: executing, or (in_order, status QUEUED) awaiting inputs
    queue: list[TaskRef]  #: assigned, not started, in dispatch order
    expected_finish_us: list[float]  #: nominal expected finish of each running task (parallel to ``running``)
    loaded_kernel: list[str | None]  #: per slot, the kernel configured (FPGA regions); None when empty
    #: When each queued task's inputs are on this PE (parallel to ``queue``; shared-bus delays included).
    queue_inputs_us: list[float] = field(default_factory=list)
    #: Sum of the nominal slot times (launch overhead + execution) of the queued tasks, so schedulers can
    #: estimate a long queue's backlog in O(1) (see :mod:`soc_emu.schedulers.estimates`).
    queued_work_us: float = 0.0

    @property
    def free_slots(self) -> int:
        """Idle slots (0 while down)."""
        return 0 if self.down else self.pe.capacity - self.busy_slots


class SystemView:
    """What a scheduler sees at a decision point. Cheap to build: it wraps the engine's live state.

    Attributes
    ----------
    now:
        Simulated time (us).
    platform:
        The platform being simulated.
    binding:
        The binding style of this run.
    trigger:
        The event that opened this decision point.
    jobs:
        Admitted, unfinished jobs by id.
    pes:
        Per-PE run-time state, indexed like ``platform.pes``.
    ready:
        Unassigned ready tasks, in the order they became ready.
    power:
        The run's :class:`~soc_emu.power.driver.PowerDriver` on a platform with power data (current
        frequencies, execution-time scaling, marginal power, energy so far), else ``None``.
    """

    __slots__ = ("now", "platform", "binding", "trigger", "jobs", "pes", "ready", "power")

    def __init__(
        self,
        *,
        now: float,
        platform: Platform,
        binding: Binding,
        trigger: Trigger,
        jobs: Mapping[int, JobState],
        pes: Sequence[PEState],
        ready: Sequence[TaskRef],
        power: Any = None,
    ) -> None:
        self.now = now
        self.platform = platform
        self.binding = binding
        self.trigger = trigger
        self.jobs = jobs
        self.pes = pes
        self.ready = ready
        self.power = power

    @property
    def energy_uj(self) -> float | None:
        """Energy drawn since the run started (uJ) under the power model; ``None`` without power data
        (a reward can then use the fixed-power formula of :mod:`soc_emu.output.metrics`)."""
        return None if self.power is None else self.power.energy_uj()

    def kernel(self, ref: TaskRef) -> str:
        """The kernel (task type) of a task."""
        return self.jobs[ref.job_id].graph.tasks[ref.task].kernel

    def idle_pes(self) -> list[int]:
        """Up PEs with a free slot and an empty queue: the only legal targets under late binding."""
        return [s.pe.index for s in self.pes if not s.down and s.busy_slots < s.pe.capacity and not s.queue]

    def data_ready_time(self, ref: TaskRef, pe: int) -> float:
        """Earliest time all of ``ref``'s inputs can be on PE ``pe`` (idle interconnect; inf if a
        predecessor has not finished)."""
        job = self.jobs[ref.job_id]
        t = self.now if job.graph.preds[ref.task] else job.admitted_us
        for src, volume in job.graph.preds[ref.task]:
            finish = job.finish_us[src]
            if not finish == finish:  # nan: predecessor not finished
                return float("inf")
            t = max(t, finish + self.platform.transfer_time(job.pe[src], pe, volume))
        return t
