"""Streaming HEFT: a whole-system HEFT plan, rebuilt whenever the system changes shape.

Planning
    At every decision point that finds a new job in the system (an arrival) or a set of failed PEs other
    than the one the plan was made with (a failure or a repair), and whenever a ready task has no usable
    plan entry, the scheduler re-plans every unfinished task of every job in the system (within the
    planning horizon below) with :func:`soc_emu.schedulers.heft_plan.plan` (upward-rank order,
    insertion-based earliest finish):

    * finished tasks are fixed where and when they ran;
    * running tasks (and queued tasks already holding a slot while their inputs arrive) hold their slot
      from now until their expected finish (now, if already overdue);
    * queued tasks stay on their PE (the engine cannot unassign them) and are planned first, in the PE's
      dispatch order;
    * every task not yet assigned, ready or still waiting, is planned anew; failed PEs receive nothing.

    Jobs are planned oldest first by default (``job_order="arrival"``): each job's tasks in decreasing
    upward rank, placed around the commitments of the jobs before it. ``job_order="rank"`` is HEFT on
    the union of all graphs (one rank order for every task in the system); it lets every newcomer's
    high-rank entry tasks push back the tails of older jobs. Measured on ds3 + ds3_mix at 25 jobs/ms
    (seed 1, 1,000 jobs, no noise) the mean job latency was 279 us with "arrival" and 618 us with
    "rank", so "rank" is an option, not the default.

Following the plan
    A task that becomes ready goes to its planned PE with ``priority = planned start``; with
    ``dispatch_order = "in_order"`` a PE serves its queue in that order. On its own this is not enough:
    a slot that frees takes whatever is queued, so a task planned *later* on a slot could take it while
    the task planned *earlier* there is not ready yet. With ``keep_slot_order=True`` (the default, the
    streaming counterpart of DS3's per-PE dynamic dependencies) a ready task is therefore held back,
    unassigned, until every task planned before it on the same PE slot has been assigned. Holding never
    deadlocks: along every wait (a predecessor, or an earlier task of the slot) the planned
    ``(start, finish, planning order)`` strictly decreases. The planner, for its part, lets a queued task
    hold its slot from the moment the slot frees, as the in-order queue does. Without noise or failures,
    on single-slot PEs, every task then starts exactly at the start planned when it was assigned,
    arrivals included (a single Topcuoglu job finishes at 80 us). A multi-slot PE has one engine queue
    for all its slots, which hands a task whichever slot frees first, so there a task may start earlier
    or later than its slot's plan said. Under heavy load with noisy execution times the plan gets
    stale between arrivals and holding can cost some latency (ds3 + ds3_mix, 25 jobs/ms, noise 0.2:
    mean 329 us held vs 312 us not held; at 10 jobs/ms 169 vs 178 us; without noise 279 vs 297 us).
    ``keep_slot_order=False`` turns holding off.

Planning horizon
    A re-plan costs time proportional to the unfinished tasks it covers, and the system re-plans per
    arrival, so a backlog would make each arrival dearer. ``max_planned_tasks`` (default 300, about 17
    DS3 jobs) bounds the not yet assigned tasks a plan covers to those of the oldest jobs; younger jobs
    wait unplanned (their ready tasks are left unassigned) until the next arrival or until half of the
    planned tasks have been assigned. With ``job_order="arrival"`` this changes nothing for the planned
    jobs (a job's plan depends only on older jobs); it only keeps a young job from filling gaps early.
    At the ds3_mix default rate on ds3 the bound is rarely reached (about 90 tasks per plan on average);
    in overload (40 jobs/ms) it keeps HEFT at about 5,000 simulated tasks/s instead of a few hundred.

Late binding
    The scheduler assigns a ready task only when its planned PE is idle (at most one task per free slot),
    in planned order; it never moves a task to another PE.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import ClassVar

import numpy as np

from soc_emu.engine.view import Assignment, Binding, PEState, SystemView, TaskRef, TaskStatus
from soc_emu.errors import SocEmuError
from soc_emu.model.platform import Platform
from soc_emu.schedulers.base import Scheduler
from soc_emu.schedulers.heft_plan import JOB_ORDERS, CostModel, JobToPlan, Placement, Plan, SlotTimelines, plan
from soc_emu.schedulers.registry import register

#: Default bound on the not yet assigned tasks one plan covers (see :class:`HeftScheduler`).
DEFAULT_MAX_PLANNED_TASKS = 300


@register
class HeftScheduler(Scheduler):
    """HEFT over all unfinished tasks in the system, re-planned on arrivals and PE failures/repairs.

    Parameters
    ----------
    binding:
        ``Binding.ON_READY`` (default) or ``Binding.LATE``.
    job_order:
        ``"arrival"`` (default: oldest job planned first) or ``"rank"`` (one rank order over all jobs).
    keep_slot_order:
        Hold a ready task until the tasks planned before it on its PE slot are assigned (default True).
    max_planned_tasks:
        Planning horizon: a plan covers the oldest jobs whose unassigned tasks add up to at most this
        many (at least one job; jobs with a task on a PE always); younger jobs wait, unplanned, and are
        planned at the next arrival or once half of the planned tasks have been assigned. ``None``: no
        bound.
    """

    name: ClassVar[str] = "heft"
    dispatch_order: ClassVar[str] = "in_order"
    description: ClassVar[str] = "HEFT: upward-rank order, insertion-based EFT, whole system re-planned per arrival"
    #: Ranks, order and PE-selection rule of the plans (PEFT swaps in its optimistic cost table).
    cost_model: ClassVar[type[CostModel]] = CostModel

    def __init__(
        self,
        *,
        binding: Binding | None = None,
        job_order: str = "arrival",
        keep_slot_order: bool = True,
        max_planned_tasks: int | None = DEFAULT_MAX_PLANNED_TASKS,
    ) -> None:
        super().__init__(binding=binding)
        where = "--scheduler-option"
        if job_order not in JOB_ORDERS:
            raise SocEmuError(f"heft: unknown job_order {job_order!r} (one of: {', '.join(JOB_ORDERS)})", source=where)
        if not isinstance(keep_slot_order, bool):
            raise SocEmuError(f"heft: keep_slot_order must be true or false, got {keep_slot_order!r}", source=where)
        if max_planned_tasks is not None and not (
            isinstance(max_planned_tasks, int) and not isinstance(max_planned_tasks, bool) and max_planned_tasks >= 1
        ):
            raise SocEmuError(
                f"heft: max_planned_tasks must be an integer >= 1 or null, got {max_planned_tasks!r}", source=where
            )
        self.job_order = job_order
        self.keep_slot_order = keep_slot_order
        self.max_planned_tasks = max_planned_tasks
        self._costs: CostModel | None = None
        self._plan: dict[int, list[Placement | None]] = {}
        #: Per PE, per slot: the planned, not yet assigned tasks in planned order.
        self._slot_queues: list[list[deque[TaskRef]]] = []
        #: Planned tasks not yet assigned (with keep_slot_order: exactly the tasks in the slot queues).
        self._pending: set[TaskRef] = set()
        self._planned_down: tuple[int, ...] = ()  #: failed PEs when the plan was made
        self._known: set[int] = set()  #: jobs in the system at the last plan
        self._deferred: set[int] = set()  #: jobs in the system at the last plan but left out of it
        self._planned_pending = 0  #: planned, unassigned tasks right after the last plan
        #: Number of whole-system plans made in this run (for tests and benchmarks).
        self.replans = 0

    def reset(self, platform: Platform, rng: np.random.Generator) -> None:
        super().reset(platform, rng)
        self._costs = self.cost_model(platform)
        self._plan = {}
        self._slot_queues = [[deque() for _ in range(pe.capacity)] for pe in platform.pes]
        self._pending = set()
        self._planned_down = ()
        self._known = set()
        self._deferred = set()
        self._planned_pending = 0
        self.replans = 0

    # ------------------------------------------------------------------ decisions

    def decide(self, view: SystemView) -> list[Assignment]:
        if self._needs_plan(view):
            self._replan(view)
        assignments = self._assign(view, allow_missing=False)
        if assignments is None:  # a ready task has no usable plan entry (its PE failed, ...)
            self._replan(view)
            assignments = self._assign(view, allow_missing=True)
            assert assignments is not None
        return assignments

    def _needs_plan(self, view: SystemView) -> bool:
        """A new job, a changed set of failed PEs, or deferred jobs and half the planned ones gone."""
        jobs = view.jobs
        known = self._known
        if isinstance(jobs, dict):
            # The engine's dict is in admission order (FIFO, increasing ids): a new job is always last.
            last = next(reversed(jobs), None)
            if last is not None and last not in known:
                return True
        elif any(job_id not in known for job_id in jobs):
            return True
        if _down_pes(view) != self._planned_down:
            return True
        # Deferred jobs come in once half of the planned, unassigned tasks have been assigned (a decision
        # always follows: the deferred jobs' entry tasks are ready).
        return bool(self._deferred) and 2 * len(self._pending) <= self._planned_pending

    def _assign(self, view: SystemView, *, allow_missing: bool) -> list[Assignment] | None:
        """Assignments for the ready tasks whose turn it is; None when one has no usable plan entry."""
        plan_of = self._plan
        pending = self._pending
        pes = view.pes
        free: dict[int, int] | None = None
        if view.binding is Binding.LATE:
            free = {pe: pes[pe].free_slots for pe in view.idle_pes()}
            if not free:
                return []
        if not self.keep_slot_order:
            return self._assign_unordered(view, free, allow_missing)
        ready = view.ready
        ready_set = set(ready)
        queues = self._slot_queues
        deferred = self._deferred
        out: list[Assignment] = []
        for ref in ready:
            if ref not in ready_set or ref.job_id in deferred:
                continue  # assigned in this decision already (it followed its slot's head), or not planned yet
            entry = plan_of.get(ref.job_id)
            p = entry[ref.task] if entry is not None else None
            if p is None or pes[p.pe].down or ref not in pending:
                if allow_missing:
                    continue  # no up PE can run it now: it is offered again at a later decision
                return None
            queue = queues[p.pe][p.slot]
            while queue and queue[0] in ready_set:
                head = queue[0]
                hp = plan_of[head.job_id][head.task]
                assert hp is not None
                if free is not None:
                    if free.get(hp.pe, 0) <= 0:
                        break
                    free[hp.pe] -= 1
                queue.popleft()
                pending.discard(head)
                ready_set.discard(head)
                out.append(Assignment(head, hp.pe, hp.start_us))
        return out

    def _assign_unordered(
        self, view: SystemView, free: dict[int, int] | None, allow_missing: bool
    ) -> list[Assignment] | None:
        """Without slot order: every ready task to its planned PE (late binding: if idle, earliest start first)."""
        plan_of = self._plan
        pes = view.pes
        placed: list[tuple[TaskRef, Placement]] = []
        deferred = self._deferred
        for ref in view.ready:
            if ref.job_id in deferred:
                continue
            entry = plan_of.get(ref.job_id)
            p = entry[ref.task] if entry is not None else None
            if p is None or pes[p.pe].down:
                if allow_missing:
                    continue
                return None
            placed.append((ref, p))
        pending = self._pending
        if free is None:
            pending.difference_update(ref for ref, _ in placed)
            return [Assignment(ref, p.pe, p.start_us) for ref, p in placed]
        out = []
        for ref, p in sorted(placed, key=lambda rp: (rp[1].start_us, rp[0])):
            if free.get(p.pe, 0) > 0:
                free[p.pe] -= 1
                pending.discard(ref)
                out.append(Assignment(ref, p.pe, p.start_us))
        return out

    # ------------------------------------------------------------------ planning

    def _replan(self, view: SystemView) -> None:
        """Rebuild the plan of every unfinished task in the system (see the module docstring)."""
        assert self._costs is not None, "reset() must be called before decide()"
        now = view.now
        timelines = SlotTimelines.for_platform(view.platform)
        job_ids = self._planning_horizon(view)
        position = {job_id: j for j, job_id in enumerate(job_ids)}
        finish_override: dict[int, dict[int, float]] = {}
        pinned: list[tuple[int, int]] = []
        excluded = []
        for state in view.pes:
            pe = state.pe.index
            if state.down:
                excluded.append(pe)
            starts, ends = timelines.starts[pe], timelines.ends[pe]
            for slot, (ref, expected) in enumerate(zip(state.running, state.expected_finish_us)):
                end = expected if expected > now else now
                starts[slot].append(now)
                ends[slot].append(end)
                finish_override.setdefault(ref.job_id, {})[ref.task] = end
            if state.pe.reconfig_time_us > 0:
                timelines.kernel[pe] = _slot_kernels(view, state)
            for ref in state.queue:
                pinned.append((position[ref.job_id], ref.task))
        queued = TaskStatus.QUEUED
        jobs = []
        for job_id in job_ids:
            job = view.jobs[job_id]
            pe_of = [p if s >= queued else -1 for p, s in zip(job.pe, job.status)]
            running = finish_override.get(job_id)
            if running:
                finish = list(job.finish_us)
                for t, end in running.items():
                    finish[t] = end
            else:
                finish = job.finish_us
            jobs.append(JobToPlan(job_id, job.graph, job.admitted_us, pe_of, finish))
        result = self._make_plan(jobs, timelines, now, pinned, excluded)
        self._plan = result.placements  # type: ignore[assignment]
        self._planned_down = tuple(excluded)
        self._known = set(view.jobs)
        self._deferred = self._known.difference(job_ids)
        self.replans += 1
        self._build_slot_queues(jobs, result.placements, result.sequence)

    def _make_plan(
        self,
        jobs: list[JobToPlan],
        timelines: SlotTimelines,
        now: float,
        pinned: list[tuple[int, int]],
        excluded: list[int],
    ) -> Plan:
        """The plan of ``jobs`` given the running tasks (``timelines``, updated in place), the queued ones
        (``pinned``, in dispatch order) and the failed PEs; HEFT's insertion-based EFT (subclasses may
        plan otherwise, e.g. with a solver)."""
        assert self._costs is not None
        return plan(jobs, self._costs, timelines, floor_us=now, pinned_first=pinned, excluded_pes=excluded,
                    job_order=self.job_order)

    def _planning_horizon(self, view: SystemView) -> list[int]:
        """The jobs to plan: oldest first while their unassigned tasks fit in ``max_planned_tasks`` (at
        least one job with unassigned tasks), plus every job with a task on a PE."""
        job_ids = sorted(view.jobs)
        limit = self.max_planned_tasks
        if limit is None:
            return job_ids
        jobs = view.jobs
        ready = TaskStatus.READY
        chosen = []
        total = 0
        for job_id in job_ids:
            unassigned = sum(1 for status in jobs[job_id].status if status <= ready)
            if total + unassigned > limit and total > 0:
                break
            chosen.append(job_id)
            total += unassigned
        if len(chosen) < len(job_ids):
            on_pes = {ref.job_id for state in view.pes for ref in (*state.running, *state.queue)}
            chosen = sorted(set(chosen) | on_pes)
        return chosen

    def _build_slot_queues(
        self,
        jobs: list[JobToPlan],
        placements: dict[Hashable, list[Placement | None]],
        sequence: list[tuple[Hashable, int]],
    ) -> None:
        """The newly planned (not yet assigned) tasks: the pending set and, per slot, in planned order."""
        pe_of = {job.key: job.pe for job in jobs if job.pe is not None}  # always given by _replan
        per_slot: dict[tuple[int, int], list[tuple[float, float, int, TaskRef]]] = {}
        for seq, (job_id, task) in enumerate(sequence):
            if pe_of[job_id][task] >= 0:
                continue  # queued already (pinned)
            p = placements[job_id][task]
            assert p is not None
            per_slot.setdefault((p.pe, p.slot), []).append((p.start_us, p.finish_us, seq, TaskRef(job_id, task)))
        queues = self._slot_queues
        for slots in queues:
            for q in slots:
                q.clear()
        pending = self._pending
        pending.clear()
        for (pe, slot), items in per_slot.items():
            items.sort()
            refs = [item[3] for item in items]
            if self.keep_slot_order:
                queues[pe][slot].extend(refs)
            pending.update(refs)
        self._planned_pending = len(pending)


def _slot_kernels(view: SystemView, state: PEState) -> list[str | None]:
    """Kernel each planning slot of a reconfigurable PE holds once its running task is done.

    Planning slot ``k < len(running)`` carries running task ``k``, so it ends up holding that task's kernel.
    The idle slots hold what the engine's remaining slots have loaded (the view does not say which engine
    slot runs which task, so a running task is matched with a slot that holds its kernel where one does).
    """
    jobs = view.jobs
    running = [jobs[ref.job_id].graph.tasks[ref.task].kernel for ref in state.running]
    remaining = list(state.loaded_kernel)
    for kernel in running:
        if kernel in remaining:
            remaining.remove(kernel)
        else:
            remaining.pop()  # a slot still waiting for its task's inputs holds the previous kernel
    return running + remaining


def _down_pes(view: SystemView) -> tuple[int, ...]:
    """Indices of the failed PEs."""
    return tuple(state.pe.index for state in view.pes if state.down)
