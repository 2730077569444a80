"""CP-SAT optimum (soc_emu.optimal) and the `optimal` / `cpsat` schedulers.

Golden optima: Topcuoglu's graph 73 (HEFT 80), PEFT's example 113. Tiny DAGs are checked against an
exhaustive search; random instances whose times are whole microseconds check that the engine, following
the `optimal` scheduler's plan, measures exactly the solver's objective.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from soc_emu.engine.invariants import InvariantChecker
from soc_emu.engine.options import RunOptions
from soc_emu.engine.simulation import simulate
from soc_emu.errors import SocEmuError
from soc_emu.model import ArrivalProcess, Platform, TaskGraph
from soc_emu.optimal import InstanceJob, SolverLimits, StaticInstance, instance_from_workload, solve
from soc_emu.schedulers import make_scheduler
from soc_emu.schedulers.heft_plan import CostModel, JobToPlan, heft_schedule

from emu_builders import build_graph, build_pe, build_platform, build_random_graph, build_workload
from test_heft_plan import topcuoglu_graph, topcuoglu_platform
from test_peft import peft_example

EXACT = SolverLimits(max_deterministic_time=20.0)


def solve_instance(instance: StaticInstance, objective: str = "makespan", limits: SolverLimits = EXACT):
    return solve(instance.jobs_to_plan(), CostModel(instance.platform), objective=objective, limits=limits)


def integer_case(seed: int, tasks: int, pes: int) -> tuple[Platform, TaskGraph]:
    """Single-slot PEs, whole-us execution times (some kernels unsupported), integer volumes, bandwidth 1."""
    rng = np.random.default_rng(seed)
    kernels = ["a", "b", "c", "d"]
    platform_pes = []
    for i in range(pes):
        times = {k: float(rng.integers(2, 15)) for k in kernels if i == 0 or rng.random() < 0.8}
        platform_pes.append(build_pe(i, times, cluster=f"c{i % 2}", launch_overhead_us=float(i == pes - 1)))
    platform = build_platform(platform_pes, bandwidth=1.0, latency_us=1.0)
    graph = build_random_graph(rng, kernels, tasks, "g", edge_p=0.4)
    graph = build_graph([t.kernel for t in graph.tasks], [(e.src, e.dst, float(round(e.volume / 5))) for e in graph.edges])
    return platform, graph


def brute_force_makespan(platform: Platform, graph: TaskGraph) -> float:
    """Optimal makespan by exhaustive search over (ready task, PE) sequences on single-slot PEs.

    Appending each task to its PE in every topological order and every mapping reaches every semi-active
    schedule, among which an optimal one lies. Branches no better than the best so far are cut.
    """
    costs = CostModel(platform)
    n = len(graph)
    best = [math.inf]
    finish = [0.0] * n
    where = [-1] * n

    def search(done: int, waiting: list[int], free: list[float], span: float) -> None:
        if span >= best[0]:
            return
        if done == n:
            best[0] = span
            return
        for t in range(n):
            if waiting[t] != 0 or where[t] >= 0:
                continue
            for duration, pe in costs.info(graph).candidates[t]:
                ready = max([free[pe]] + [finish[s] + costs.transfer(where[s], pe, v) for s, v in graph.preds[t]])
                where[t], finish[t] = pe, ready + duration
                for s, _ in graph.succs[t]:
                    waiting[s] -= 1
                old = free[pe]
                free[pe] = finish[t]
                search(done + 1, waiting, free, max(span, finish[t]))
                free[pe] = old
                for s, _ in graph.succs[t]:
                    waiting[s] += 1
                where[t] = -1

    search(0, [len(p) for p in graph.preds], [0.0] * len(platform.pes), 0.0)
    return best[0]


class TestGoldenOptima:
    def test_topcuoglu_optimum_is_73_heft_80(self) -> None:
        graph, platform = topcuoglu_graph(), topcuoglu_platform()
        solution = solve_instance(StaticInstance.single(platform, graph))
        assert solution.status == "optimal"
        assert solution.objective_us == 73.0 and solution.bound_us == 73.0 and solution.gap == 0.0
        assert solution.heuristic_us == heft_schedule(graph, CostModel(platform)).makespan_us == 80.0

    def test_peft_example_optimum_is_113(self) -> None:
        platform, workload = peft_example()
        solution = solve_instance(StaticInstance.single(platform, workload.mix.graphs[0]))
        assert (solution.status, solution.objective_us, solution.heuristic_us) == ("optimal", 113.0, 133.0)


@pytest.mark.parametrize(("seed", "tasks", "pes"), [(s, 4 + s % 3, 2 + s % 2) for s in range(8)])
def test_equals_brute_force_on_tiny_dags(seed: int, tasks: int, pes: int) -> None:
    platform, graph = integer_case(seed, tasks, pes)
    solution = solve_instance(StaticInstance.single(platform, graph))
    assert solution.status == "optimal"
    assert solution.objective_us == brute_force_makespan(platform, graph)


@pytest.mark.parametrize("seed", range(6))
def test_engine_makespan_equals_the_solver_objective(seed: int) -> None:
    """Two jobs known at time 0; the engine follows the plan and measures the solver's makespan."""
    platform, graph = integer_case(100 + seed, 7, 3)
    other = build_graph([t.kernel for t in graph.tasks][::-1], [(0, 1, 3.0), (1, 2, 0.0)], name="h")
    workload = build_workload((graph, other), arrivals=ArrivalProcess(kind="trace", trace_us=(0.0, 0.0),
                                                                      trace_apps=("app", "h")))
    expected = solve_instance(instance_from_workload(platform, workload))
    assert expected.status == "optimal"
    scheduler = make_scheduler("optimal")
    checker = InvariantChecker(workload)
    sim = simulate(platform, workload, scheduler, RunOptions(), observers=[checker])
    checker.check()
    assert sim.jobs_completed == 2
    assert sim.now == expected.objective_us == scheduler.stats()["last_objective_us"]


@pytest.mark.parametrize("seed", range(4))
def test_never_worse_than_heft_and_optimal_on_12_tasks(seed: int) -> None:
    """Float times from the random generator (rounded in the model): optimal within the limit, <= HEFT."""
    from soc_emu.workloads.random_dag import RandomDagSpec, generate

    base = build_platform([build_pe(i, {}, cluster=f"c{i % 2}") for i in range(4)], bandwidth=2.0, latency_us=0.5)
    graph, platform = generate(RandomDagSpec(tasks=12, ccr=1.0, het=1.0, seed=seed), base, np.random.default_rng(seed))
    solution = solve_instance(StaticInstance.single(platform, graph))
    assert solution.status == "optimal"
    assert solution.objective_us <= heft_schedule(graph, CostModel(platform)).makespan_us + 1e-9
    assert solution.bound_us <= solution.objective_us + 1e-9


def test_release_times_and_completion_objective() -> None:
    platform, graph = integer_case(7, 5, 2)
    instance = StaticInstance(platform, (InstanceJob(graph, 0.0), InstanceJob(graph, 30.0)))
    span = solve_instance(instance)
    flow = solve_instance(instance, objective="completion")
    assert flow.status == "optimal"
    for job, placed in zip(instance.jobs, (flow.plan[0], flow.plan[1])):
        assert all(p is not None and p.start_us >= job.release_us for p in placed)
    finishes = [max(p.finish_us for p in flow.plan[k] if p is not None) for k in (0, 1)]
    assert flow.objective_us == pytest.approx(finishes[0] - 0.0 + finishes[1] - 30.0)
    assert max(finishes) >= span.objective_us


def test_same_input_same_answer() -> None:
    platform, graph = integer_case(3, 6, 3)
    instance = StaticInstance.single(platform, graph)
    first, second = solve_instance(instance), solve_instance(instance)
    assert first.plan.placements == second.plan.placements and first.plan.sequence == second.plan.sequence


def test_too_large_for_the_limit_returns_a_schedule_and_a_bound() -> None:
    from soc_emu.workloads.random_dag import RandomDagSpec, generate

    base = build_platform([build_pe(i, {}) for i in range(4)], bandwidth=1.0)
    graph, platform = generate(RandomDagSpec(tasks=80, ccr=5.0, het=1.0, seed=1), base, np.random.default_rng(1))
    solution = solve_instance(StaticInstance.single(platform, graph), limits=SolverLimits(max_deterministic_time=0.05))
    assert solution.status in ("feasible", "heuristic")
    assert 0 < solution.bound_us <= solution.objective_us <= solution.heuristic_us
    assert all(p is not None for p in solution.plan[0])


def test_a_task_no_pe_can_run_is_a_clear_error() -> None:
    platform = build_platform([build_pe(0, {"a": 1.0})])
    graph = build_graph(["a", "nope"], [(0, 1, 0.0)])
    with pytest.raises(SocEmuError, match="'nope'.*cannot run on any PE"):
        StaticInstance.single(platform, graph)
    with pytest.raises(SocEmuError, match="cannot run on any PE"):
        solve([JobToPlan(0, graph)], CostModel(platform))


def test_streaming_cpsat_keeps_the_invariants_under_noise_and_failures(random_case) -> None:
    from soc_emu.engine.options import FailureModel

    for seed in range(3):
        platform, workload = random_case(seed)
        checker = InvariantChecker(workload)
        scheduler = make_scheduler("cpsat", max_deterministic_time=0.05)
        options = RunOptions(seed=seed, num_jobs=15, noise_rsd=0.1, failures=FailureModel(mtbf_us=400.0, repair_us=50.0))
        sim = simulate(platform, workload, scheduler, options, observers=[checker])
        checker.check()
        assert sim.jobs_completed + sim.jobs_dropped == 15
        stats = scheduler.stats()
        assert stats["solver_decisions"] >= 1 and stats["solver_wall_max_s"] >= stats["solver_wall_mean_s"] > 0


def test_bad_solver_options_name_the_option() -> None:
    with pytest.raises(SocEmuError, match="max_deterministic_time"):
        make_scheduler("cpsat", max_deterministic_time=-1)
    with pytest.raises(SocEmuError, match="objective"):
        make_scheduler("optimal", objective="tardiness")


def test_solver_schedulers_stay_out_of_default_comparisons() -> None:
    from soc_emu.schedulers import scheduler_class

    assert not scheduler_class("optimal").in_default_comparison
    assert not scheduler_class("cpsat").in_default_comparison
    assert scheduler_class("peft").in_default_comparison and scheduler_class("heft").in_default_comparison


def test_reconfiguration_is_left_out_of_bounds_and_charged_for_streaming() -> None:
    platform = build_platform([build_pe(0, {"x": 10.0}, pe_type="fpga", reconfig_time_us=100.0),
                               build_pe(1, {"x": 50.0})])
    jobs = [JobToPlan(0, build_graph(["x"]))]
    bound = solve(jobs, CostModel(platform), limits=EXACT)
    charged = solve(jobs, CostModel(platform), limits=EXACT, reconfiguration="charge")
    assert (bound.objective_us, bound.plan[0][0].pe) == (10.0, 0)  # a lower bound: the load is free
    assert (charged.objective_us, charged.plan[0][0].pe) == (50.0, 1)  # 10 + 100 on the FPGA loses
    with pytest.raises(SocEmuError, match="reconfiguration"):
        solve(jobs, CostModel(platform), reconfiguration="sometimes")
