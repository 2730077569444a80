"""The event-driven SimPy engine: jobs arrive, tasks run on PEs, and the run pauses at decision points.

One :class:`Simulation` executes one run. It never ticks: every state change is a SimPy event (a job
arrival, a task finishing, inputs arriving on a PE, a PE failing or being repaired) whose callback updates
the engine's live state. Tasks are not SimPy processes; each execution is one ``Timeout`` with a callback,
which keeps a million-task run fast and small.

Decision points
    After all events at the current time are processed, a decision opens when unassigned ready tasks
    exist (``Binding.ON_READY``), or when they exist *and* an up PE is idle (``Binding.LATE``).
    :meth:`Simulation.next_decision` runs to the next decision point and returns a
    :class:`~soc_emu.engine.view.SystemView`; :meth:`Simulation.submit` applies the answer
    (:func:`decision_points` is the loop over them that every driver shares). After a
    non-empty submit a new decision opens at the same time if it still can (so an outside agent may assign
    one task per step); after an empty one, none opens before the next event.

Dispatch
    An assigned task waits in its PE's queue, ordered by ``(priority, order of assignment)``.
    ``"first_ready"`` (DS3): a free slot starts the first queued task whose inputs have arrived.
    ``"in_order"``: a free slot takes the first queued task even if its inputs are still in flight; the
    slot is then held (it counts in ``busy_slots`` and the task is listed in ``running`` with status
    ``QUEUED``) until the inputs arrive and the task starts, so a planned per-PE order runs as planned.

Communication
    A task's inputs are on its PE at ``max over predecessors of (finish + transfer time)``; a task without
    predecessors can start at admission. In shared-bus mode transfers between different PEs are served one
    at a time, first come first served, by one bus: a transfer is booked when its consumer is assigned,
    starts at ``max(producer finish, bus free)`` and is reported as a :class:`TransferRecord`.

Overheads
    Each start costs the PE's ``launch_overhead_us``, plus ``reconfig_time_us`` when the slot's loaded
    kernel differs from the task's. A task takes a free slot that already holds its kernel, else an empty
    slot (so loaded kernels survive), else the lowest free slot. Noise applies to the execution time only,
    never to overheads; each task's factor is drawn when its job arrives (see :mod:`soc_emu.engine.noise`).

Failures
    A failed PE kills its running tasks (reported with ``completed=False``), returns them and its queued
    tasks to READY (unassigned), resets its regions to the boot image (``preloaded_kernels``) and takes
    no assignment until repaired.

Stopping
    ``num_jobs``: the run ends when all generated jobs left the system. ``duration_us``: the run ends at
    that time (with ``num_jobs`` as well: whichever comes first). Trace arrivals also end with the trace.

Power
    On a platform with power data (``Platform.power``) a :class:`~soc_emu.power.driver.PowerDriver`
    scales execution times with the clusters' frequencies, integrates energy and temperature between
    events and runs the governors; the engine calls it when a task starts or stops, when a PE fails or
    is repaired, and at the start and end of the run. Without power data no driver exists.

Observers get records as they happen, only through the ``on_*`` methods they define; the engine keeps no
history (finished jobs are dropped at once).
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import simpy
from simpy.events import Timeout

from soc_emu.engine.arrivals import JobSource
from soc_emu.engine.noise import ExecutionNoise
from soc_emu.engine.options import FailureModel, RunOptions
from soc_emu.engine.records import JobRecord, PEEventRecord, TaskRecord, TransferRecord
from soc_emu.engine.view import (
    Assignment,
    Binding,
    JobState,
    PEState,
    SystemView,
    TaskRef,
    TaskStatus,
    Trigger,
)
from soc_emu.errors import SocEmuError
from soc_emu.model.compatibility import check_compatible
from soc_emu.model.platform import Platform
from soc_emu.model.taskgraph import TaskGraph
from soc_emu.model.workload import Workload

__all__ = [
    "DISPATCH_ORDERS",
    "FailureModel",
    "InvalidAssignment",
    "RunOptions",
    "Simulation",
    "SimulationStalled",
    "decision_points",
    "drive",
    "simulate",
]

DISPATCH_ORDERS: tuple[str, ...] = ("first_ready", "in_order")

_NAN = math.nan
_INF = math.inf
_WAITING = TaskStatus.WAITING
_READY = TaskStatus.READY
_QUEUED = TaskStatus.QUEUED
_RUNNING = TaskStatus.RUNNING
_DONE = TaskStatus.DONE
#: Relative tolerance when comparing an inputs-arrival time with the clock (a timeout scheduled for
#: ``t - now`` may land one rounding step before ``t``).
_REL_TOL = 1e-12


class InvalidAssignment(ValueError):
    """A scheduler or agent submitted an assignment the engine cannot apply (the message says why)."""


class SimulationStalled(RuntimeError):
    """Nothing can happen any more but jobs are still in the system (a scheduler never assigned them)."""


def _as_index(value: object) -> int:
    """An integer index from an int-like (numpy integers from agents); -1 (always invalid) otherwise."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return -1


def _task_name(job: JobState, task: int) -> str:
    graph = job.graph
    return f"task {graph.tasks[task].name!r} (#{task}) of job {job.job_id} ({graph.name})"


class _PE(PEState):
    """Engine-private per-PE state on top of the public :class:`PEState`."""

    __slots__ = (
        "qkeys", "slot_ref", "slot_token", "slot_start", "slot_overhead", "wake_at", "fail_rng",
    )

    qkeys: list[tuple[float, int]]  #: (priority, assignment order) of each queued task (parallel to queue)
    slot_ref: list[TaskRef | None]  #: per slot: the task holding it, or None
    slot_token: list[int]  #: per slot: id of the current execution (stale finish events are ignored)
    slot_start: list[float]  #: per slot: start time of the current execution (nan while reserved)
    slot_overhead: list[float]  #: per slot: overhead of the current execution
    wake_at: float  #: earliest pending wake-up for inputs arriving (first_ready dispatch)
    fail_rng: np.random.Generator | None


class Simulation:
    """One run of ``workload`` on ``platform``, paused at decision points (see the module docstring).

    Parameters
    ----------
    platform, workload:
        What to simulate. Tasks no PE can run raise :class:`SocEmuError` here, before the run.
    options:
        Seed, stop condition, noise, failures, shared bus.
    binding:
        ``Binding.ON_READY`` or ``Binding.LATE`` (see :mod:`soc_emu.engine.view`).
    dispatch_order:
        ``"first_ready"`` or ``"in_order"``.
    observers:
        Objects with any of ``on_start/on_task/on_job/on_pe_event/on_transfer/on_finish``.

    Attributes
    ----------
    env:
        The SimPy environment.
    rng:
        Root generator of the run; its children serve arrivals, noise, failures and the scheduler.
    tasks_completed, tasks_killed, jobs_arrived, jobs_completed, jobs_dropped, decisions:
        Run counters.
    """

    def __init__(
        self,
        platform: Platform,
        workload: Workload,
        options: RunOptions | None = None,
        *,
        binding: Binding = Binding.ON_READY,
        dispatch_order: str = "first_ready",
        observers: Sequence[object] = (),
    ) -> None:
        options = options if options is not None else RunOptions()
        if dispatch_order not in DISPATCH_ORDERS:
            raise SocEmuError(f"unknown dispatch order {dispatch_order!r} ({', '.join(DISPATCH_ORDERS)})", source="dispatch_order")
        if not isinstance(binding, Binding):
            raise SocEmuError(f"binding must be a Binding, got {binding!r}", source="binding")
        check_compatible(platform, workload)
        if options.num_jobs is None and options.duration_us is None and workload.arrivals.kind != "trace":
            raise SocEmuError("a run needs num_jobs or duration_us to end", source="run options")

        self.platform = platform
        self.workload = workload
        self.options = options
        self.binding = binding
        self.dispatch_order = dispatch_order
        self.env = simpy.Environment()
        self.rng = np.random.default_rng(options.seed)
        arrival_rng, noise_rng, failure_rng, scheduler_rng = self.rng.spawn(4)
        self._scheduler_rng = scheduler_rng

        self._source = JobSource(workload, arrival_rng, max_jobs=options.num_jobs, until_us=options.duration_us)
        self._noise = ExecutionNoise(noise_rng, options.noise_rsd) if options.noise_rsd > 0 else None
        bus = options.shared_bus if options.shared_bus is not None else platform.interconnect.shared_bus
        self._shared_bus = bool(bus)
        self._bus_free = 0.0
        self._late = binding is Binding.LATE
        self._in_order = dispatch_order == "in_order"
        self._cap = workload.max_jobs_in_system
        self._drop = workload.drop_when_full

        self._pes: list[_PE] = []
        for pe in platform.pes:
            s = _PE(
                pe=pe,
                busy_slots=0,
                down=False,
                running=[],
                queue=[],
                expected_finish_us=[],
                loaded_kernel=pe.initial_kernels(),
            )
            s.qkeys = []
            s.queue_inputs_us = []
            s.slot_ref = [None] * pe.capacity
            s.slot_token = [-1] * pe.capacity
            s.slot_start = [_NAN] * pe.capacity
            s.slot_overhead = [0.0] * pe.capacity
            s.wake_at = _INF
            s.fail_rng = None
            s.queued_work_us = 0.0
            self._pes.append(s)
        self._failures = options.failures
        if options.failures is not None:
            eligible = [s for s in self._pes if options.failures.pe_types is None or s.pe.pe_type in options.failures.pe_types]
            for s, child in zip(eligible, failure_rng.spawn(len(eligible)) if eligible else []):
                s.fail_rng = child

        # Per graph: entry tasks and predecessor counts (computed once, copied per job).
        self._graph_info: dict[int, tuple[tuple[int, ...], list[int]]] = {
            id(g): (g.entry_tasks, [len(p) for p in g.preds]) for g in workload.mix.graphs
        }
        self._jobs: dict[int, JobState] = {}
        self._ready: list[TaskRef] = []
        self._admission: deque[tuple[int, TaskGraph, float, list[float] | None]] = deque()
        self._factors: dict[int, list[float]] = {}  # noise factor of each task, per job in the system
        self._arrivals_done = False
        self._over = False
        self._started = False
        self._finished = False
        self._open = False
        self._want = False
        self._trigger: Trigger | None = None
        self._seq = 0
        self._token = 0
        self._end_us = options.duration_us if options.duration_us is not None else _INF
        self._view = SystemView(
            now=0.0, platform=platform, binding=binding, trigger=Trigger.ARRIVAL, jobs=self._jobs, pes=self._pes, ready=self._ready
        )

        self.tasks_completed = 0
        self.tasks_killed = 0
        self.jobs_arrived = 0
        self.jobs_completed = 0
        self.jobs_dropped = 0
        self.decisions = 0

        def hooks(name: str) -> list[Callable[..., Any]]:
            return [getattr(o, name) for o in observers if callable(getattr(o, name, None))]

        self._on_start = hooks("on_start")
        self._on_task = hooks("on_task")
        self._on_job = hooks("on_job")
        self._on_pe_event = hooks("on_pe_event")
        self._on_transfer = hooks("on_transfer")
        self._on_finish = hooks("on_finish")
        self._power = None
        if platform.power is not None:
            from soc_emu.power.driver import PowerDriver

            self._power = PowerDriver(platform, self._pes, self.env, options.governor_spec(), self._retime,
                                      hooks("on_power"))
            self._on_job.append(self._power.on_job)
            self._view.power = self._power
        elif options.governor is not None:
            raise SocEmuError(f"platform {platform.name!r} has no operating points, so no governor applies",
                              source="governor")

    # ------------------------------------------------------------------ public API

    @property
    def now(self) -> float:
        """Simulated time (us)."""
        return self.env.now

    @property
    def jobs_in_system(self) -> int:
        """Admitted, unfinished jobs."""
        return len(self._jobs)

    @property
    def jobs_waiting(self) -> int:
        """Arrived jobs waiting for admission."""
        return len(self._admission)

    @property
    def finished(self) -> bool:
        """Whether the run is over."""
        return self._finished

    def scheduler_rng(self) -> np.random.Generator:
        """The scheduler's generator: a child stream independent of arrivals, noise and failures."""
        return self._scheduler_rng

    @property
    def power(self) -> Any:
        """The run's :class:`~soc_emu.power.driver.PowerDriver` (``None`` without power data)."""
        return self._power

    @property
    def decision_open(self) -> bool:
        """Whether a decision point is open (returned by :meth:`next_decision`, not yet answered)."""
        return self._open

    def view(self) -> SystemView:
        """The live system view (valid at any time; its ``trigger`` is that of the last decision)."""
        return self._view

    def next_decision(self) -> SystemView | None:
        """Run until a decision is needed and return the view; ``None`` once the run is over.

        Calling it again while a decision is open returns the same view.
        """
        if self._open:
            return self._view
        if self._finished:
            return None
        if not self._started:
            self._begin()
        env = self.env
        peek = env.peek
        step = env.step
        while True:
            if self._over:
                self._end()
                return None
            nxt = peek()
            if self._want and nxt > env.now:
                self._want = False
                if self._ready and (not self._late or self._any_idle()):
                    self._open = True
                    self.decisions += 1
                    view = self._view
                    view.now = env.now
                    view.trigger = self._trigger if self._trigger is not None else Trigger.ARRIVAL
                    self._trigger = None
                    return view
                self._trigger = None
            if nxt == _INF and self._end_us == _INF:
                raise SimulationStalled(
                    f"at t={env.now} us nothing is left to happen but {len(self._jobs)} job(s) are in the system "
                    f"and {len(self._ready)} ready task(s) were never assigned"
                )
            if nxt >= self._end_us:
                self._end()
                return None
            step()

    def submit(self, assignments: Sequence[Assignment]) -> None:
        """Apply the decision for the open decision point.

        All assignments are checked before any is applied; an illegal one raises
        :class:`InvalidAssignment` and changes nothing (the decision stays open).
        """
        if not self._open:
            raise RuntimeError("submit() called without an open decision; call next_decision() first")
        if not assignments:
            self._open = False
            return
        jobs = self._jobs
        pes = self._pes
        late = self._late
        seen: set[tuple[int, int]] = set()
        per_pe: dict[int, int] = {}
        checked: list[tuple[TaskRef, JobState, _PE, float]] = []
        npes = len(pes)
        single = len(assignments) == 1
        for a in assignments:
            try:
                ref, pe, prio = a
                job_id, task = ref
                prio = float(prio)
            except (TypeError, ValueError):
                raise InvalidAssignment(
                    f"{a!r} is not an Assignment(task=TaskRef(job_id, task), pe, priority: float)"
                ) from None
            if type(task) is not int:
                task = _as_index(task)
            if type(pe) is not int:
                pe = _as_index(pe)
            job = jobs.get(job_id)
            if job is None:
                raise InvalidAssignment(f"{a!r}: job {job_id} is not in the system")
            graph = job.graph
            if not 0 <= task < len(graph.tasks):
                raise InvalidAssignment(f"{a!r}: job {job_id} ({graph.name}) has no task {ref[1]!r}")
            if job.status[task] != _READY:
                raise InvalidAssignment(
                    f"{_task_name(job, task)} is {TaskStatus(job.status[task]).name}, only READY tasks can be assigned"
                )
            if single is False:
                key = (job_id, task)
                if key in seen:
                    raise InvalidAssignment(f"{_task_name(job, task)} is assigned twice in one decision")
                seen.add(key)
            if not 0 <= pe < npes:
                raise InvalidAssignment(f"{_task_name(job, task)}: no PE with index {a[1]!r} (the platform has {npes})")
            ps = pes[pe]
            if graph.tasks[task].kernel not in ps.pe.exec_times_us:
                raise InvalidAssignment(
                    f"{_task_name(job, task)}: PE {ps.pe.name} (#{pe}) cannot run kernel {graph.tasks[task].kernel!r}"
                )
            if ps.down:
                raise InvalidAssignment(f"{_task_name(job, task)}: PE {ps.pe.name} (#{pe}) is down")
            if late:
                if ps.queue or ps.busy_slots >= ps.pe.capacity:
                    raise InvalidAssignment(
                        f"{_task_name(job, task)}: late binding allows only idle PEs, PE {ps.pe.name} (#{pe}) is not idle"
                    )
                used = per_pe.get(pe, 0) + 1
                if used > ps.pe.capacity - ps.busy_slots:
                    raise InvalidAssignment(
                        f"{_task_name(job, task)}: late binding allows one task per free slot, PE {ps.pe.name} (#{pe}) "
                        f"has {ps.pe.capacity - ps.busy_slots}"
                    )
                per_pe[pe] = used
            checked.append((ref if type(ref) is TaskRef else TaskRef(job_id, task), job, ps, prio))

        touched: list[_PE] = []
        for ref, job, ps, prio in checked:
            task = ref.task
            job.status[task] = _QUEUED
            job.pe[task] = ps.pe.index
            inputs = self._inputs_time(job, task, ps.pe.index)
            self._seq += 1
            key2 = (prio, self._seq)
            queue = ps.queue
            if not queue or ps.qkeys[-1] <= key2:
                queue.append(ref)
                ps.qkeys.append(key2)
                ps.queue_inputs_us.append(inputs)
            else:
                i = bisect.bisect_right(ps.qkeys, key2)
                queue.insert(i, ref)
                ps.qkeys.insert(i, key2)
                ps.queue_inputs_us.insert(i, inputs)
            ps.queued_work_us += ps.pe.exec_times_us[job.graph.tasks[task].kernel] + ps.pe.launch_overhead_us
            touched.append(ps)
        ready = self._ready
        if len(checked) == 1:
            ready.remove(checked[0][0])
        else:
            ready[:] = [r for r in ready if jobs[r.job_id].status[r.task] == _READY]
        if single:
            self._dispatch(touched[0])
        else:
            for ps in dict.fromkeys(touched):
                self._dispatch(ps)
        self._open = False
        self._want = True
        self._trigger = self._view.trigger

    def unfinished_arrivals(self) -> tuple[list[float], list[float]]:
        """Arrival times of the jobs still admitted and unfinished, and of those still waiting for
        admission (what a duration-bounded or interrupted run leaves behind)."""
        return [job.arrival_us for job in self._jobs.values()], [item[2] for item in self._admission]

    def summary(self) -> dict[str, Any]:
        """Cheap run counters (no metrics)."""
        return {
            "now_us": self.env.now,
            "jobs_arrived": self.jobs_arrived,
            "jobs_completed": self.jobs_completed,
            "jobs_dropped": self.jobs_dropped,
            "jobs_in_system": len(self._jobs),
            "jobs_waiting": len(self._admission),
            "tasks_completed": self.tasks_completed,
            "tasks_killed": self.tasks_killed,
            "decisions": self.decisions,
            "finished": self._finished,
        }

    # ------------------------------------------------------------------ run start / end

    def _begin(self) -> None:
        self._started = True
        for hook in self._on_start:
            hook(self.platform, self.env.now)
        if self._power is not None:
            self._power.begin()
        self._schedule_next_arrival()
        for s in self._pes:
            if s.fail_rng is not None:
                self._schedule_failure(s)

    def _end(self) -> None:
        env = self.env
        if self._end_us < _INF and (self.options.num_jobs is None or not self._over) and env.now < self._end_us:
            # A duration-bounded run ends at its duration (PE failures/repairs up to then are still recorded;
            # no decision opens any more).
            self._open = False
            env.run(until=self._end_us)
        self._over = True
        self._finished = True
        self._open = False
        if self._power is not None:
            self._power.end()
        for hook in self._on_finish:
            hook(env.now)

    # ------------------------------------------------------------------ arrivals and admission

    def _schedule_next_arrival(self) -> None:
        nxt = self._source.next()
        if nxt is None:
            self._arrivals_done = True
            self._check_over()
            return
        t, graph = nxt
        ev = Timeout(self.env, max(0.0, t - self.env.now), graph)
        ev.callbacks.append(self._on_arrival)

    def _on_arrival(self, ev: simpy.Event) -> None:
        now = self.env.now
        graph: TaskGraph = ev._value
        job_id = self.jobs_arrived
        self.jobs_arrived += 1
        factors = self._noise.factors(len(graph.tasks)) if self._noise is not None else None
        if self._cap is not None and (len(self._jobs) >= self._cap or self._admission):
            if self._drop:
                self.jobs_dropped += 1
                if self._on_job:
                    deadline = None if graph.deadline_us is None else now + graph.deadline_us
                    rec = JobRecord(job_id, graph.name, now, _NAN, _NAN, deadline, len(graph.tasks), True)
                    for hook in self._on_job:
                        hook(rec)
            else:
                self._admission.append((job_id, graph, now, factors))
        else:
            self._admit(job_id, graph, now, factors)
        self._schedule_next_arrival()

    def _admit(self, job_id: int, graph: TaskGraph, arrival: float, factors: list[float] | None) -> None:
        now = self.env.now
        n = len(graph.tasks)
        entry, npreds = self._graph_info[id(graph)]
        job = JobState(
            job_id=job_id,
            graph=graph,
            arrival_us=arrival,
            admitted_us=now,
            deadline_us=None if graph.deadline_us is None else arrival + graph.deadline_us,
            status=[_WAITING] * n,
            pe=[-1] * n,
            ready_us=[_NAN] * n,
            start_us=[_NAN] * n,
            finish_us=[_NAN] * n,
            remaining_preds=npreds.copy(),
        )
        self._jobs[job_id] = job
        if factors is not None:
            self._factors[job_id] = factors
        ready = self._ready
        for t in entry:
            job.status[t] = _READY
            job.ready_us[t] = now
            ready.append(TaskRef(job_id, t))
        self._want = True
        if self._trigger is None:
            self._trigger = Trigger.ARRIVAL

    def _finish_job(self, job: JobState) -> None:
        now = self.env.now
        del self._jobs[job.job_id]
        if self._noise is not None:
            del self._factors[job.job_id]
        self.jobs_completed += 1
        if self._on_job:
            rec = JobRecord(job.job_id, job.graph.name, job.arrival_us, job.admitted_us, now, job.deadline_us, len(job.graph.tasks))
            for hook in self._on_job:
                hook(rec)
        adm = self._admission
        while adm and (self._cap is None or len(self._jobs) < self._cap):
            job_id, graph, arrival, factors = adm.popleft()
            self._admit(job_id, graph, arrival, factors)
        self._check_over()

    def _check_over(self) -> None:
        if self._arrivals_done and not self._jobs and not self._admission:
            self._over = True

    # ------------------------------------------------------------------ data movement

    def _inputs_time(self, job: JobState, task: int, pe: int) -> float:
        """When all inputs of ``task`` are on ``pe`` (books shared-bus transfers)."""
        preds = job.graph.preds[task]
        if not preds:
            return job.admitted_us
        finish = job.finish_us
        where = job.pe
        transfer = self.platform.transfer_time
        t_in = 0.0
        if not self._shared_bus:
            for src, volume in preds:
                t = finish[src] + transfer(where[src], pe, volume)
                if t > t_in:
                    t_in = t
            return t_in
        for src, volume in preds:
            src_pe = where[src]
            dur = transfer(src_pe, pe, volume)
            if src_pe == pe or volume <= 0:
                t = finish[src] + dur
            else:
                start = max(finish[src], self._bus_free)
                t = self._bus_free = start + dur
                if self._on_transfer:
                    rec = TransferRecord(job.job_id, src, task, src_pe, pe, start, t, volume)
                    for hook in self._on_transfer:
                        hook(rec)
            if t > t_in:
                t_in = t
        return t_in

    # ------------------------------------------------------------------ dispatch and execution

    def _any_idle(self) -> bool:
        for s in self._pes:
            if not s.down and s.busy_slots < s.pe.capacity and not s.queue:
                return True
        return False

    def _dispatch(self, ps: _PE) -> None:
        """Fill free slots of ``ps`` from its queue (see the module docstring for the two orders)."""
        if ps.down:
            return
        queue = ps.queue
        capacity = ps.pe.capacity
        now = self.env.now
        limit = now + _REL_TOL * abs(now)
        while queue and ps.busy_slots < capacity:
            if self._in_order:
                i = 0
            else:
                queue_inputs_us = ps.queue_inputs_us
                i = -1
                for j, t in enumerate(queue_inputs_us):
                    if t <= limit:
                        i = j
                        break
                if i < 0:
                    first = min(queue_inputs_us)
                    if first < ps.wake_at:
                        ps.wake_at = first
                        ev = Timeout(self.env, first - now, ps)
                        ev.callbacks.append(self._on_wake)
                    break
            ref = queue.pop(i)
            del ps.qkeys[i]
            inputs = ps.queue_inputs_us.pop(i)
            if queue:
                ps.queued_work_us -= ps.pe.exec_times_us[self._jobs[ref.job_id].graph.tasks[ref.task].kernel] + ps.pe.launch_overhead_us
            else:
                ps.queued_work_us = 0.0
            self._take_slot(ps, ref, inputs, now, limit)
        if self._late and not queue and ps.busy_slots < capacity and self._ready:
            self._want = True
            if self._trigger is None:
                self._trigger = Trigger.PE_FREE

    def _on_wake(self, ev: simpy.Event) -> None:
        ps: _PE = ev._value
        if ps.wake_at <= self.env.now * (1 + _REL_TOL):
            ps.wake_at = _INF
        self._dispatch(ps)

    def _take_slot(self, ps: _PE, ref: TaskRef, inputs: float, now: float, limit: float) -> None:
        job = self._jobs[ref.job_id]
        kernel = job.graph.tasks[ref.task].kernel
        pe = ps.pe
        slots = ps.slot_ref
        loaded = ps.loaded_kernel
        # A free slot already holding the kernel, else an empty one (keeps loaded kernels), else the first.
        slot = -1
        if pe.capacity == 1:
            slot = 0
        else:
            empty = -1
            for k in range(pe.capacity):
                if slots[k] is None:
                    held = loaded[k]
                    if held == kernel:
                        slot = k
                        break
                    if held is None and empty < 0:
                        empty = k
                    if slot < 0:
                        slot = k
            else:
                if empty >= 0:
                    slot = empty
        overhead = pe.launch_overhead_us
        if pe.reconfig_time_us > 0 and loaded[slot] != kernel:
            overhead += pe.reconfig_time_us
        nominal = pe.exec_times_us[kernel]
        token = self._token
        self._token = token + 1
        slots[slot] = ref
        ps.slot_token[slot] = token
        ps.slot_overhead[slot] = overhead
        ps.busy_slots += 1
        ps.running.append(ref)
        if inputs <= limit:
            ps.expected_finish_us.append(now + overhead + nominal)
            self._start(ps, slot, job, ref.task, kernel, overhead, nominal, token)
        else:
            ps.expected_finish_us.append(inputs + overhead + nominal)
            ps.slot_start[slot] = _NAN
            ev = Timeout(self.env, inputs - now, (ps, slot, token))
            ev.callbacks.append(self._on_inputs_in)

    def _on_inputs_in(self, ev: simpy.Event) -> None:
        ps, slot, token = ev._value
        if ps.slot_token[slot] != token:
            return  # the PE failed meanwhile
        ref = ps.slot_ref[slot]
        job = self._jobs[ref.job_id]
        kernel = job.graph.tasks[ref.task].kernel
        self._start(ps, slot, job, ref.task, kernel, ps.slot_overhead[slot], ps.pe.exec_times_us[kernel], token)

    def _start(self, ps: _PE, slot: int, job: JobState, task: int, kernel: str, overhead: float, nominal: float, token: int) -> None:
        now = self.env.now
        ps.loaded_kernel[slot] = kernel
        ps.slot_start[slot] = now
        job.status[task] = _RUNNING
        job.start_us[task] = now
        duration = nominal * self._factors[job.job_id][task] if self._noise is not None else nominal
        if self._power is not None:
            duration = self._power.started(ps, slot, job.job_id, kernel, duration, now)
        ev = Timeout(self.env, overhead + duration, (ps, slot, token))
        ev.callbacks.append(self._on_task_done)

    def _retime(self, ps: _PE, slot: int, remaining: float) -> None:
        """Move the finish of the task executing on ``slot`` to ``remaining`` us from now (the power
        driver calls this when a frequency change rescales the task's remaining work)."""
        token = self._token
        self._token = token + 1
        ps.slot_token[slot] = token
        ref = ps.slot_ref[slot]
        ps.expected_finish_us[ps.running.index(ref)] = self.env.now + remaining
        ev = Timeout(self.env, remaining, (ps, slot, token))
        ev.callbacks.append(self._on_task_done)

    def _on_task_done(self, ev: simpy.Event) -> None:
        ps, slot, token = ev._value
        if ps.slot_token[slot] != token:
            return  # killed by a failure (or re-timed by a frequency change)
        now = self.env.now
        if self._power is not None:
            self._power.finished(ps, slot, now)
        ref = ps.slot_ref[slot]
        ps.slot_ref[slot] = None
        ps.slot_token[slot] = -1
        ps.busy_slots -= 1
        running = ps.running
        i = running.index(ref)
        del running[i]
        del ps.expected_finish_us[i]
        job = self._jobs[ref.job_id]
        task = ref.task
        graph = job.graph
        job.status[task] = _DONE
        job.finish_us[task] = now
        job.tasks_done += 1
        self.tasks_completed += 1
        if self._on_task:
            self._emit_task(job, task, ps, slot, now, True)
        succs = graph.succs[task]
        if succs:
            remaining = job.remaining_preds
            status = job.status
            job_id = job.job_id
            newly = False
            for s, _ in succs:
                left = remaining[s] - 1
                remaining[s] = left
                if left == 0:
                    status[s] = _READY
                    job.ready_us[s] = now
                    self._ready.append(TaskRef(job_id, s))
                    newly = True
            if newly:
                self._want = True
                if self._trigger is None:
                    self._trigger = Trigger.TASK_DONE
        if job.tasks_done == len(graph.tasks):
            self._finish_job(job)
        self._dispatch(ps)

    # ------------------------------------------------------------------ failures

    def _emit_task(self, job: JobState, task: int, ps: _PE, slot: int, now: float, completed: bool) -> None:
        """Report the execution of ``task`` that held ``slot`` until ``now`` to the observers."""
        t = job.graph.tasks[task]
        rec = TaskRecord(
            job.job_id, job.graph.name, task, t.name, t.kernel, ps.pe.index, ps.pe.name, slot,
            job.ready_us[task], ps.slot_start[slot], now, ps.slot_overhead[slot], completed,
        )
        for hook in self._on_task:
            hook(rec)

    def _schedule_failure(self, ps: _PE) -> None:
        assert ps.fail_rng is not None and self._failures is not None
        ev = Timeout(self.env, float(ps.fail_rng.exponential(self._failures.mtbf_us)), ps)
        ev.callbacks.append(self._on_failure)

    def _on_failure(self, ev: simpy.Event) -> None:
        ps: _PE = ev._value
        assert self._failures is not None and ps.fail_rng is not None
        now = self.env.now
        ps.down = True
        self._pe_event(ps, True)
        returned: list[TaskRef] = []
        for slot, ref in enumerate(ps.slot_ref):
            if ref is None:
                continue
            job = self._jobs[ref.job_id]
            task = ref.task
            if job.status[task] == _RUNNING:
                if self._power is not None:
                    self._power.finished(ps, slot, now)
                self.tasks_killed += 1
                if self._on_task:
                    self._emit_task(job, task, ps, slot, now, False)
            job.start_us[task] = _NAN
            ps.slot_ref[slot] = None
            ps.slot_token[slot] = -1
            returned.append(ref)
        returned.extend(ps.queue)
        for ref in returned:
            job = self._jobs[ref.job_id]
            job.status[ref.task] = _READY
            job.pe[ref.task] = -1
        ps.busy_slots = 0
        ps.running.clear()
        ps.expected_finish_us.clear()
        ps.queue.clear()
        ps.qkeys.clear()
        ps.queue_inputs_us.clear()
        ps.queued_work_us = 0.0
        ps.loaded_kernel[:] = ps.pe.initial_kernels()
        if self._power is not None:
            self._power.pe_down(ps)
        self._ready.extend(returned)
        self._want = True
        if self._trigger is None:
            self._trigger = Trigger.PE_FAILURE
        rep = Timeout(self.env, float(ps.fail_rng.exponential(self._failures.repair_us)), ps)
        rep.callbacks.append(self._on_repair)

    def _on_repair(self, ev: simpy.Event) -> None:
        ps: _PE = ev._value
        ps.down = False
        if self._power is not None:
            self._power.pe_up(ps)
        self._pe_event(ps, False)
        self._want = True
        if self._trigger is None:
            self._trigger = Trigger.PE_REPAIR
        self._schedule_failure(ps)

    def _pe_event(self, ps: _PE, down: bool) -> None:
        if self._on_pe_event:
            rec = PEEventRecord(ps.pe.index, ps.pe.name, self.env.now, down)
            for hook in self._on_pe_event:
                hook(rec)


def simulate(
    platform: Platform,
    workload: Workload,
    scheduler: Any,
    options: RunOptions | None = None,
    *,
    observers: Sequence[object] = (),
) -> Simulation:
    """Drive a whole run with a :class:`~soc_emu.schedulers.base.Scheduler` and return the finished run.

    The scheduler's ``binding`` and ``dispatch_order`` configure the engine; ``reset`` gets the platform
    and the run's scheduler generator.
    """
    return drive(start_simulation(platform, workload, scheduler, options, observers=observers), scheduler)


def start_simulation(
    platform: Platform,
    workload: Workload,
    scheduler: Any,
    options: RunOptions | None = None,
    *,
    observers: Sequence[object] = (),
) -> Simulation:
    """The :class:`Simulation` that :func:`simulate` drives, configured for ``scheduler`` (which is reset),
    before its first event: a caller that keeps it can report the simulated time if the run is cut short."""
    sim = Simulation(
        platform,
        workload,
        options,
        binding=scheduler.binding,
        dispatch_order=getattr(scheduler, "dispatch_order", "first_ready"),
        observers=observers,
    )
    scheduler.reset(platform, sim.scheduler_rng())
    return sim


def decision_points(sim: Simulation) -> Iterator[SystemView]:
    """The one decision loop: run ``sim`` to each decision point and yield its view, until the run ends.

    Every driver sits on it: :func:`drive` (so :func:`simulate` and every :class:`Scheduler`), the learned
    agent's training rollouts and its gymnasium environment (which steps the generator one decision at a
    time). The consumer answers each view with ``sim.submit(assignments)`` (an empty list passes the point)
    before asking for the next one; a view left unanswered is a :class:`RuntimeError`, not a silent loop
    over the same decision.
    """
    next_decision = sim.next_decision
    view = next_decision()
    while view is not None:
        yield view
        if sim.decision_open:
            raise RuntimeError(f"the decision at t={view.now} us was not answered: call submit() (an empty list "
                               "passes) before asking for the next decision")
        view = next_decision()


def drive(sim: Simulation, scheduler: Any) -> Simulation:
    """Run ``sim`` to its end, answering every decision point (:func:`decision_points`) with
    ``scheduler.decide(view)``; return it."""
    decide = scheduler.decide
    submit = sim.submit
    for view in decision_points(sim):
        submit(decide(view))
    return sim
