"""Optimal schedules with OR-Tools CP-SAT: the model, the solve, and the plan it yields.

Input is what HEFT's planner takes (:func:`soc_emu.schedulers.heft_plan.plan`): jobs with fixed, pinned
and free tasks, the slots' existing commitments (running tasks), a floor ``now`` and failed PEs. So the
same call solves a static instance (everything free, empty platform) and a re-plan of a running system.

Model
    * Every free task ``t`` has a start ``S_t`` and, per PE ``p`` that can run its kernel (and is not
      excluded; a pinned task: only its PE), a presence literal ``x_tp`` and an optional interval of fixed
      length ``d_tp`` starting at ``S_t``; exactly one literal is true. ``d_tp`` is the PE's nominal duration
      from :meth:`CostModel.duration` (execution + launch overhead, the GPU launch included).
    * Capacity: per PE, no-overlap of its intervals (capacity 1) or a cumulative of demand 1 and the PE's
      slot count; running tasks are fixed intervals from now to their expected finish.
    * Precedence with transfers: for an edge ``a -> b`` carrying ``v``, ``S_b >= E_a + min tr`` always and
      ``x_ap and x_bq  =>  S_b >= E_a + tr(p, q, v)`` for every PE pair whose transfer takes longer, with
      ``tr`` the platform's own link model (:meth:`CostModel.transfer`, i.e.
      :meth:`Platform.transfer_time`: latency + volume / bandwidth, the same-PE link on one PE). A finished
      or running predecessor contributes its known finish and PE.
    * Redundant: a cumulative of every task (whatever its PE) over all the platform's slots.
    * No task starts before its job's release or the floor; pinned (queued) tasks of one PE keep their
      queue order.
    * Objective ``"makespan"``: the latest finish. ``"completion"``: the sum over jobs of (job finish -
      release), i.e. the sum of job completion times measured from release (total latency).
    * FPGA reconfiguration is not modelled per slot. ``reconfiguration="ignore"`` (the default, used for
      optima and bounds) leaves it out: on a platform with reconfigurable PEs the optimum is then a lower
      bound (true durations are never shorter) and the engine, which does reconfigure, may run the plan
      longer than planned. ``"charge"`` (the streaming ``cpsat`` scheduler) adds the PE's reconfiguration
      time to every task whose kernel no slot of the PE holds at planning time: pessimistic for a kernel
      loaded by an earlier task of the same plan, optimistic when another kernel evicts it in between.

Integers
    CP-SAT needs integer times: every time is measured from the floor in ticks of ``1 / ticks_per_us`` us
    (default 100 ticks per us, i.e. 10 ns) and durations and transfers are rounded to the nearest tick.
    Instances whose times are whole multiples of a tick are solved exactly; otherwise each duration and
    transfer is off by at most half a tick. The returned plan is recomputed in floating point from the
    solver's PE mapping and per-slot order (every task as early as that allows), so it is exactly what
    the engine runs; its objective never exceeds the solver's by more than the rounding.

Determinism and limits
    ``num_workers`` (default 1) and ``max_deterministic_time`` fix the search, so the same input gives the
    same answer on any machine load. An optional wall-clock limit (``max_time_s``) breaks that guarantee
    and is off by default. The solve is warm-started from HEFT (``AddHint``) and HEFT's plan is returned
    (status ``"heuristic"``) when the solver finds nothing within the limit, so a too-large instance
    still yields a schedule and the solver's bound, and never hangs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from soc_emu.errors import SocEmuError
from soc_emu.schedulers.heft_plan import CostModel, JobToPlan, Placement, Plan, SlotTimelines, plan

__all__ = ["OBJECTIVES", "RECONFIGURATION", "Solution", "SolverLimits", "plan_objective", "solve"]

#: Objectives :func:`solve` minimises.
OBJECTIVES: tuple[str, ...] = ("makespan", "completion")
#: How the model treats FPGA reconfiguration (see the module docstring).
RECONFIGURATION: tuple[str, ...] = ("ignore", "charge")


@dataclass(frozen=True)
class SolverLimits:
    """Search limits and the time resolution of the model.

    Attributes
    ----------
    max_deterministic_time:
        CP-SAT's deterministic time limit (roughly seconds on one core, independent of machine load).
    num_workers:
        Search workers; 1 keeps the search sequential and reproducible.
    ticks_per_us:
        Time resolution: integer ticks per microsecond.
    max_time_s:
        Optional wall-clock limit as a safety net (None: none; a set value makes results load-dependent).
    """

    max_deterministic_time: float = 10.0
    num_workers: int = 1
    ticks_per_us: int = 100
    max_time_s: float | None = None

    def __post_init__(self) -> None:
        if not (self.max_deterministic_time > 0 and math.isfinite(self.max_deterministic_time)):
            raise SocEmuError(f"must be a number > 0, got {self.max_deterministic_time!r}", source="max_deterministic_time")
        if not (isinstance(self.num_workers, int) and self.num_workers >= 1):
            raise SocEmuError(f"must be an integer >= 1, got {self.num_workers!r}", source="num_workers")
        if not (isinstance(self.ticks_per_us, int) and self.ticks_per_us >= 1):
            raise SocEmuError(f"must be an integer >= 1, got {self.ticks_per_us!r}", source="ticks_per_us")
        if self.max_time_s is not None and not self.max_time_s > 0:
            raise SocEmuError(f"must be a number > 0, got {self.max_time_s!r}", source="max_time_s")


@dataclass
class Solution:
    """The outcome of :func:`solve`.

    Attributes
    ----------
    status:
        ``"optimal"`` (proven), ``"feasible"`` (a solver schedule, not proven optimal) or ``"heuristic"``
        (the solver found nothing within its limit; the plan is HEFT's warm start).
    objective:
        ``"makespan"`` or ``"completion"``.
    objective_us:
        The objective of :attr:`plan`, evaluated in floating point (what the engine will measure).
    bound_us:
        The solver's proven lower bound of the objective (us); equals ``objective_us`` up to rounding when
        optimal.
    plan:
        Per job key, a :class:`Placement` per task (None for tasks fixed on input or left unplaced), and the
        order in which the tasks start (predecessors first).
    wall_seconds, deterministic_seconds:
        Solver time.
    heuristic_us:
        The warm start's (HEFT's) objective.
    """

    status: str
    objective: str
    objective_us: float
    bound_us: float
    plan: Plan
    wall_seconds: float
    deterministic_seconds: float
    heuristic_us: float

    @property
    def gap(self) -> float:
        """Relative distance between the objective and the bound: 0 when proven optimal."""
        if self.status == "optimal" or self.objective_us <= 0:
            return 0.0
        return max(0.0, (self.objective_us - self.bound_us) / self.objective_us)

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


def solve(
    jobs: Sequence[JobToPlan],
    costs: CostModel,
    timelines: SlotTimelines | None = None,
    *,
    floor_us: float = 0.0,
    pinned_first: Sequence[tuple[int, int]] = (),
    excluded_pes: Iterable[int] = (),
    objective: str = "makespan",
    limits: SolverLimits | None = None,
    reconfiguration: str = "ignore",
) -> Solution:
    """Schedule the pinned and free tasks of ``jobs`` optimally (within ``limits``); see the module docstring.

    Arguments mean what they mean for :func:`~soc_emu.schedulers.heft_plan.plan` (``timelines`` is only
    read). Raises :class:`SocEmuError` for a task no PE of the platform can run.
    """
    if objective not in OBJECTIVES:
        raise SocEmuError(f"unknown objective {objective!r} (one of: {', '.join(OBJECTIVES)})", source="objective")
    limits = limits or SolverLimits()
    if timelines is None:
        timelines = SlotTimelines.for_platform(costs.platform)
    if reconfiguration not in RECONFIGURATION:
        raise SocEmuError(f"unknown mode {reconfiguration!r} (one of: {', '.join(RECONFIGURATION)})",
                          source="reconfiguration")
    excluded = frozenset(excluded_pes)
    heuristic = plan(jobs, costs, _copy(timelines), floor_us=floor_us, pinned_first=pinned_first,
                     excluded_pes=excluded, job_order="arrival")
    heuristic_us = plan_objective(heuristic, jobs, objective)
    builder = _ModelBuilder(jobs, costs, timelines, floor_us, excluded, limits.ticks_per_us, reconfiguration)
    builder.build(objective, pinned_first)
    builder.hint(heuristic)

    solver = cp_model.CpSolver()
    params = solver.parameters
    params.num_workers = limits.num_workers
    params.max_deterministic_time = limits.max_deterministic_time
    params.random_seed = 0
    if limits.max_time_s is not None:
        params.max_time_in_seconds = limits.max_time_s
    t0 = time.perf_counter()
    status = solver.solve(builder.model)
    wall = time.perf_counter() - t0
    bound_us = builder.objective_us(solver.best_objective_bound, objective)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if status == cp_model.INFEASIBLE:  # pragma: no cover - every task has a PE, the model is never infeasible
            raise AssertionError("the CP-SAT model is infeasible")
        return Solution("heuristic", objective, heuristic_us, min(bound_us, heuristic_us), heuristic, wall,
                        solver.deterministic_time, heuristic_us)
    result = builder.extract(solver)
    value = plan_objective(result, jobs, objective)
    state = "optimal" if status == cp_model.OPTIMAL else "feasible"
    if value > heuristic_us:
        # Re-timed in floating point (rounding, reconfiguration estimates) the solver's plan can come out
        # behind its warm start: keep HEFT's plan, so the result is never worse than HEFT.
        result, value = heuristic, heuristic_us
    return Solution(state, objective, value, min(bound_us, value), result, wall, solver.deterministic_time, heuristic_us)


def plan_objective(result: Plan, jobs: Sequence[JobToPlan], objective: str) -> float:
    """``"makespan"`` (latest finish) or ``"completion"`` (sum of job finish - release) of a plan, fixed
    tasks' finishes included."""
    finishes: list[float] = []
    for job in jobs:
        placed = result.placements.get(job.key, [])
        end = max((p.finish_us for p in placed if p is not None), default=-math.inf)
        if job.finish_us is not None:
            end = max([end, *(f for f in job.finish_us if f == f)])
        finishes.append(end if end > -math.inf else job.release_us)
    if objective == "makespan":
        return max(finishes, default=0.0)
    return sum(f - job.release_us for f, job in zip(finishes, jobs))


def _copy(timelines: SlotTimelines) -> SlotTimelines:
    return SlotTimelines(
        [[list(s) for s in pe] for pe in timelines.starts],
        [[list(e) for e in pe] for pe in timelines.ends],
        [list(k) for k in timelines.kernel],
    )


class _ModelBuilder:
    """Builds the CP-SAT model of one call to :func:`solve` and reads its solution back."""

    def __init__(self, jobs: Sequence[JobToPlan], costs: CostModel, timelines: SlotTimelines, floor_us: float,
                 excluded: frozenset[int], ticks_per_us: int, reconfiguration: str) -> None:
        self.charge_reconfig = reconfiguration == "charge"
        self.jobs = jobs
        self.costs = costs
        self.timelines = timelines
        self.floor = floor_us
        self.scale = ticks_per_us
        self.model = cp_model.CpModel()
        self.infos = [costs.info(job.graph) for job in jobs]  # raises for a task no PE can run
        self.excluded = excluded
        #: Per free task (job position, task): {pe: presence literal}, start and end variables.
        self.lits: dict[tuple[int, int], dict[int, cp_model.IntVar]] = {}
        self.start: dict[tuple[int, int], cp_model.IntVar] = {}
        self.end: dict[tuple[int, int], cp_model.IntVar] = {}
        self.fixed: dict[tuple[int, int], tuple[int, float]] = {}  # (pe, finish us) of done / running tasks
        self.job_end: list[cp_model.IntVar] = []
        self.all_intervals: list[cp_model.IntervalVar] = []
        self.makespan: cp_model.IntVar | None = None

    def ticks(self, t_us: float) -> int:
        """A time (us, absolute) as ticks from the floor."""
        return round((t_us - self.floor) * self.scale)

    def span(self, d_us: float) -> int:
        """A duration (us) in ticks."""
        return round(d_us * self.scale)

    def objective_us(self, value: float, objective: str) -> float:
        """An objective value in ticks back to us."""
        if objective == "makespan":
            return value / self.scale + self.floor
        return value / self.scale + sum(self.floor - job.release_us for job in self.jobs)

    # ------------------------------------------------------------------ model

    def duration(self, j: int, t: int, pe: int) -> float:
        """Nominal duration of task ``t`` of job ``j`` on ``pe``: :meth:`CostModel.duration`, plus (with
        ``reconfiguration="charge"``) the PE's reconfiguration time unless a slot holds the kernel now."""
        kernel = self.infos[j].kernels[t]
        d = self.costs.duration(kernel, pe)
        if self.charge_reconfig and self.costs.reconfig[pe] > 0 and kernel not in self.timelines.kernel[pe]:
            d += self.costs.reconfig[pe]
        return d

    def _candidates(self, j: int, t: int) -> list[tuple[float, int]]:
        job = self.jobs[j]
        pinned = job.pe[t] if job.pe is not None else -1
        pes = [p for _, p in self.infos[j].candidates[t] if (p == pinned if pinned >= 0 else p not in self.excluded)]
        return [(self.duration(j, t, p), p) for p in pes]

    def _horizon(self) -> int:
        """A safe upper bound on any finish: latest release/fixed finish plus all work and transfers, serially."""
        latest = self.floor
        work = 0.0
        for j, (job, info) in enumerate(zip(self.jobs, self.infos)):
            latest = max(latest, job.release_us)
            for t, cands in enumerate(info.candidates):
                f = job.finish_us[t] if job.finish_us is not None else math.nan
                if f == f:
                    latest = max(latest, f)
                else:
                    work += max(self.duration(j, t, p) for _, p in cands)
            work += sum(self._max_transfer(v) for edge in job.graph.edges for v in (edge.volume,))
        for pe_ends in self.timelines.ends:
            for ends in pe_ends:
                if ends:
                    latest = max(latest, ends[-1])
        return self.ticks(latest) + self.span(work) + 2 * len(self.jobs) + 1

    def _max_transfer(self, volume: float) -> float:
        n = len(self.costs.platform.pes)
        return max(self.costs.transfer(a, b, volume) for a in range(n) for b in range(n))

    def build(self, objective: str, pinned_first: Sequence[tuple[int, int]]) -> None:
        m = self.model
        horizon = self._horizon()
        per_pe: list[list[cp_model.IntervalVar]] = [[] for _ in self.costs.platform.pes]
        unplaceable: set[tuple[int, int]] = set()
        for j, (job, info) in enumerate(zip(self.jobs, self.infos)):
            release = max(0, self.ticks(max(job.release_us, self.floor)))
            for t in job.graph.topo_order:
                f = job.finish_us[t] if job.finish_us is not None else math.nan
                if f == f:
                    self.fixed[(j, t)] = (job.pe[t], f)  # type: ignore[index]
                    continue
                cands = self._candidates(j, t)
                if not cands or any((j, src) in unplaceable for src, _ in info.preds[t]):
                    unplaceable.add((j, t))  # every PE able to run it is excluded (failed)
                    continue
                s = m.new_int_var(release, horizon, f"s{j}_{t}")
                e = m.new_int_var(release, horizon, f"e{j}_{t}")
                lits = {}
                for d, p in cands:
                    x = m.new_bool_var(f"x{j}_{t}_{p}") if len(cands) > 1 else m.new_constant(1)
                    lits[p] = x
                    per_pe[p].append(m.new_optional_fixed_size_interval_var(s, self.span(d), x, f"i{j}_{t}_{p}"))
                m.add_exactly_one(lits.values())
                m.add(e == s + sum(self.span(d) * lits[p] for d, p in cands))
                size = m.new_int_var(min(self.span(d) for d, _ in cands), max(self.span(d) for d, _ in cands), "")
                self.all_intervals.append(m.new_interval_var(s, size, e, f"t{j}_{t}"))
                self.lits[(j, t)], self.start[(j, t)], self.end[(j, t)] = lits, s, e
                self._precedence(j, t)
        self.unplaceable = unplaceable
        self._capacity(per_pe)
        if self.all_intervals:  # redundant: all tasks together never use more than all slots
            m.add_cumulative(self.all_intervals, [1] * len(self.all_intervals), self.costs.platform.total_slots)
        for (j0, t0), (j1, t1) in zip(pinned_first, pinned_first[1:]):
            pe0, pe1 = self.jobs[j0].pe, self.jobs[j1].pe
            if pe0 is not None and pe1 is not None and pe0[t0] == pe1[t1] and (j0, t0) in self.start and (j1, t1) in self.start:
                m.add(self.start[(j1, t1)] >= self.start[(j0, t0)])  # a PE's queue keeps its order
        self._objective(objective, horizon)

    def _precedence(self, j: int, t: int) -> None:
        m = self.model
        s, lits = self.start[(j, t)], self.lits[(j, t)]
        transfer = self.costs.transfer
        for src, volume in self.infos[j].preds[t]:
            if (j, src) in self.fixed:
                src_pe, f = self.fixed[(j, src)]
                for q, x in lits.items():
                    m.add(s >= self.ticks(f + transfer(src_pe, q, volume))).only_enforce_if(x)
                continue
            e_src, src_lits = self.end[(j, src)], self.lits[(j, src)]
            least = min(self.span(transfer(p, q, volume)) for p in src_lits for q in lits)
            m.add(s >= e_src + least)
            for q, x in lits.items():
                for p, y in src_lits.items():
                    delay = self.span(transfer(p, q, volume))
                    if delay > least:
                        m.add(s >= e_src + delay).only_enforce_if([x, y])

    def _capacity(self, per_pe: list[list[cp_model.IntervalVar]]) -> None:
        m = self.model
        for pe, intervals in zip(self.costs.platform.pes, per_pe):
            for ends in self.timelines.ends[pe.index]:
                for end in ends:
                    size = self.ticks(end)
                    if size > 0:  # a running task holds a slot from now until its expected finish
                        intervals.append(m.new_fixed_size_interval_var(0, size, f"busy{pe.index}"))
            if len(intervals) < 2:
                continue
            if pe.capacity == 1:
                m.add_no_overlap(intervals)
            else:
                m.add_cumulative(intervals, [1] * len(intervals), pe.capacity)

    def _objective(self, objective: str, horizon: int) -> None:
        m = self.model
        for j, job in enumerate(self.jobs):
            fixed_end = max((self.ticks(f) for (jj, _), (_, f) in self.fixed.items() if jj == j), default=0)
            c = m.new_int_var(max(0, fixed_end), horizon, f"c{j}")
            for t in job.graph.exit_tasks:
                if (j, t) in self.end:
                    m.add(c >= self.end[(j, t)])
            self.job_end.append(c)
        if objective == "makespan":
            self.makespan = m.new_int_var(0, horizon, "makespan")
            m.add_max_equality(self.makespan, self.job_end)
            m.minimize(self.makespan)
        else:
            m.minimize(sum(self.job_end))

    # ------------------------------------------------------------------ warm start

    def hint(self, heuristic: Plan) -> None:
        """Hint HEFT's plan (mapping, starts, ends) to the solver."""
        m = self.model
        for j, job in enumerate(self.jobs):
            placed = heuristic.placements[job.key]
            for t, p in enumerate(placed):
                if p is None or (j, t) not in self.start:
                    continue
                lits = self.lits[(j, t)]
                if len(lits) > 1:
                    for pe, x in lits.items():
                        m.add_hint(x, pe == p.pe)
                m.add_hint(self.start[(j, t)], max(0, self.ticks(p.start_us)))
                m.add_hint(self.end[(j, t)], max(0, self.ticks(p.finish_us)))

    # ------------------------------------------------------------------ solution

    def extract(self, solver: cp_model.CpSolver) -> Plan:
        """The solver's mapping and per-slot order, every task as early as they allow (floating point)."""
        floor = self.floor
        chosen: list[tuple[int, int, int, int, int]] = []  # (start ticks, end ticks, topo pos, j, t)
        pe_of: dict[tuple[int, int], int] = {}
        for (j, t), lits in self.lits.items():
            pe_of[(j, t)] = next(p for p, x in lits.items() if solver.boolean_value(x))
            pos = self.jobs[j].graph.topo_order.index(t)
            chosen.append((solver.value(self.start[(j, t)]), solver.value(self.end[(j, t)]), pos, j, t))
        chosen.sort()
        # Slots: running tasks keep theirs; new tasks take a slot free at their start (interval partitioning).
        slot_free = [[ends[-1] if ends else -math.inf for ends in pe_ends] for pe_ends in self.timelines.ends]
        slot_ticks = [[self.ticks(ends[-1]) if ends else -math.inf for ends in pe_ends] for pe_ends in self.timelines.ends]
        jobs, costs = self.jobs, self.costs
        placements: dict[Hashable, list[Placement | None]] = {job.key: [None] * len(job.graph) for job in jobs}
        sequence: list[tuple[Hashable, int]] = []
        for s_ticks, e_ticks, _, j, t in chosen:
            pe = pe_of[(j, t)]
            free = slot_ticks[pe]
            slot = next((k for k, f in enumerate(free) if f <= s_ticks), min(range(len(free)), key=free.__getitem__))
            free[slot] = e_ticks
            job = jobs[j]
            start = max(floor, job.release_us, slot_free[pe][slot] if slot_free[pe][slot] > floor else floor)
            for src, volume in job.graph.preds[t]:
                if (j, src) in self.fixed:
                    src_pe, f = self.fixed[(j, src)]
                else:
                    p = placements[job.key][src]
                    assert p is not None, "predecessors start first"
                    src_pe, f = p.pe, p.finish_us
                start = max(start, f + costs.transfer(src_pe, pe, volume))
            finish = start + self.duration(j, t, pe)
            slot_free[pe][slot] = finish
            placements[job.key][t] = Placement(pe, slot, start, finish)
            sequence.append((job.key, t))
        return Plan(placements, sequence)
