"""CP-SAT schedulers: HEFT's plan-and-follow machinery with the plan made by OR-Tools CP-SAT.

``cpsat`` (rolling horizon)
    At each arrival, PE failure or repair (whenever HEFT would re-plan) the unstarted tasks of the jobs in
    the system are re-planned by :func:`soc_emu.optimal.cpsat_model.solve`, minimising the sum of job
    completion times (from release) under a deterministic time limit per decision (default 0.5). Running
    tasks keep their slots; queued tasks stay on their PE. The solve is warm-started from the HEFT plan
    and that plan is kept whenever the solver finds nothing better. The solver's wall time per decision
    is reported in :meth:`CpsatScheduler.stats` (``scheduler_stats`` in the run's metrics).

``optimal`` (a static instance)
    The same with the makespan as objective, a generous limit and no planning horizon. When every job is
    in the system at the first decision (one job, or a trace whose arrivals share one time) the first
    plan is the instance's optimum (or the best schedule found and its bound) and, on single-slot PEs
    without noise or failures, the engine runs it exactly: the engine's makespan equals the solver's
    objective. Later arrivals make it a rolling re-optimisation. Not part of default comparisons.

Plans are followed like HEFT's (``dispatch_order = "in_order"``, priority = planned start, a ready task
held until the tasks planned before it on its slot are assigned). The model leaves FPGA reconfiguration
out for ``optimal`` (a lower bound there) and charges it for ``cpsat`` when no slot holds the kernel (see
:mod:`soc_emu.optimal.cpsat_model`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from soc_emu.engine.view import Binding
from soc_emu.errors import SocEmuError
from soc_emu.schedulers.heft import HeftScheduler
from soc_emu.schedulers.heft_plan import JobToPlan, Plan, SlotTimelines
from soc_emu.schedulers.registry import register

__all__ = ["CpsatScheduler", "OptimalScheduler"]


@register
class CpsatScheduler(HeftScheduler):
    """Rolling-horizon CP-SAT: re-plans the unstarted tasks in the system at arrivals and failures.

    Parameters
    ----------
    objective:
        ``"completion"`` (sum of job completion times; the default here) or ``"makespan"``.
    max_deterministic_time, num_workers, ticks_per_us:
        CP-SAT's deterministic time limit per decision, search workers (1: sequential, reproducible) and
        the model's time resolution (see :class:`soc_emu.optimal.SolverLimits`).
    binding, keep_slot_order, max_planned_tasks:
        As for :class:`HeftScheduler`; the planning horizon defaults to 100 unassigned tasks (``optimal``:
        none).
    """

    name: ClassVar[str] = "cpsat"
    description: ClassVar[str] = "rolling-horizon CP-SAT: re-plans unstarted tasks per arrival (sum of completion times)"
    in_default_comparison: ClassVar[bool] = False
    default_objective: ClassVar[str] = "completion"
    default_limit: ClassVar[float] = 0.5
    default_max_planned_tasks: ClassVar[int | None] = 100
    #: FPGA reconfiguration in the model (see :mod:`soc_emu.optimal.cpsat_model`): charged when the kernel
    #: is not loaded, so plans avoid needless reconfigurations; the ``optimal`` scheduler leaves it out.
    reconfiguration: ClassVar[str] = "charge"

    def __init__(
        self,
        *,
        binding: Binding | None = None,
        objective: str | None = None,
        max_deterministic_time: float | None = None,
        num_workers: int = 1,
        ticks_per_us: int = 100,
        max_planned_tasks: int | None | str = "default",
        keep_slot_order: bool = True,
    ) -> None:
        from soc_emu.optimal.cpsat_model import OBJECTIVES, SolverLimits

        horizon = self.default_max_planned_tasks if max_planned_tasks == "default" else max_planned_tasks
        super().__init__(binding=binding, job_order="arrival", keep_slot_order=keep_slot_order,
                         max_planned_tasks=horizon)  # type: ignore[arg-type]
        objective = objective if objective is not None else self.default_objective
        if objective not in OBJECTIVES:
            raise SocEmuError(f"{self.name}: unknown objective {objective!r} (one of: {', '.join(OBJECTIVES)})",
                              source="--scheduler-option")
        limit = max_deterministic_time if max_deterministic_time is not None else self.default_limit
        try:
            self.limits = SolverLimits(max_deterministic_time=limit, num_workers=num_workers, ticks_per_us=ticks_per_us)
        except SocEmuError as exc:
            raise SocEmuError(f"{self.name}: {exc}", source="--scheduler-option") from None
        self.objective = objective
        self._walls: list[float] = []
        self._dets: list[float] = []
        self._statuses: Counter[str] = Counter()
        self.last_solution: Any = None

    def _make_plan(
        self,
        jobs: list[JobToPlan],
        timelines: SlotTimelines,
        now: float,
        pinned: list[tuple[int, int]],
        excluded: list[int],
    ) -> Plan:
        from soc_emu.optimal.cpsat_model import solve

        assert self._costs is not None
        solution = solve(jobs, self._costs, timelines, floor_us=now, pinned_first=pinned, excluded_pes=excluded,
                         objective=self.objective, limits=self.limits, reconfiguration=self.reconfiguration)
        self._walls.append(solution.wall_seconds)
        self._dets.append(solution.deterministic_seconds)
        kept = solution.status == "heuristic" or solution.plan is not None and solution.objective_us >= solution.heuristic_us
        self._statuses["heuristic_kept" if kept else solution.status] += 1
        self.last_solution = solution
        return solution.plan

    def stats(self) -> dict[str, Any]:
        """Solver figures of the run: decisions, wall time per decision, outcome counts, last solution."""
        walls = sorted(self._walls)
        out: dict[str, Any] = {
            "solver_decisions": len(walls),
            "solver_wall_mean_s": sum(walls) / len(walls) if walls else None,
            "solver_wall_p95_s": walls[min(len(walls) - 1, int(0.95 * len(walls)))] if walls else None,
            "solver_wall_max_s": walls[-1] if walls else None,
            "solver_deterministic_mean_s": sum(self._dets) / len(self._dets) if self._dets else None,
            "solver_outcomes": dict(self._statuses),
        }
        last = self.last_solution
        if last is not None:
            out.update(last_status=last.status, last_objective_us=last.objective_us, last_bound_us=last.bound_us,
                       last_gap=last.gap, last_heuristic_us=last.heuristic_us)
        return out


@register
class OptimalScheduler(CpsatScheduler):
    """The optimal (or best found, with its bound) makespan schedule of the jobs in the system."""

    name: ClassVar[str] = "optimal"
    description: ClassVar[str] = "CP-SAT optimum of the jobs in the system (static instances; not in default comparisons)"
    default_objective: ClassVar[str] = "makespan"
    default_limit: ClassVar[float] = 10.0
    default_max_planned_tasks: ClassVar[int | None] = None
    reconfiguration: ClassVar[str] = "ignore"
