"""The simple schedulers (random, round_robin, met, etf, eft) and the shared availability estimates."""

from __future__ import annotations

import math

import pytest

from soc_emu.engine.invariants import InvariantChecker
from soc_emu.engine.simulation import FailureModel, RunOptions, Simulation, simulate
from soc_emu.engine.view import Assignment, Binding, TaskRef
from soc_emu.model.workload import ArrivalProcess
from soc_emu.schedulers import make_scheduler, scheduler_names
from soc_emu.schedulers.estimates import Availability, earliest_finish, pe_available_time, slot_free_times, task_cost

SIMPLE = ("random", "round_robin", "met", "etf", "eft")
ONE_JOB = RunOptions(num_jobs=1)


def test_simple_schedulers_are_registered_with_descriptions():
    names = scheduler_names()
    for name in SIMPLE:
        assert names[name], f"{name} has no description"
        assert make_scheduler(name).name == name


def test_met_picks_the_fastest_pe_and_shares_ties(make_pe, make_platform, make_graph, make_workload, recorder):
    pes = [make_pe(0, {"a": 10.0}), make_pe(1, {"a": 5.0}), make_pe(2, {"a": 5.0}), make_pe(3, {"a": 7.0})]
    simulate(make_platform(pes), make_workload(make_graph(["a"] * 4)), make_scheduler("met"), ONE_JOB, observers=[recorder])
    assert sorted(r.pe for r in recorder.tasks) == [1, 1, 2, 2]  # never the slower PEs; ties alternate
    assert recorder.makespan() == 10.0


def test_met_counts_launch_overhead(make_pe, make_platform, make_graph, make_workload, recorder):
    pes = [make_pe(0, {"a": 10.0}), make_pe(1, {"a": 9.0}, pe_type="gpu", launch_overhead_us=2.0)]
    simulate(make_platform(pes), make_workload(make_graph(["a"])), make_scheduler("met"), ONE_JOB, observers=[recorder])
    assert [r.pe for r in recorder.tasks] == [0]


def test_etf_accounts_for_transfers(two_cpus, make_graph, make_workload, recorder):
    # t0 (10) fans out to t1, t2 (10 each) with 5 units of data at bandwidth 1: t1 stays on t0's PE
    # (finish 20), t2 goes to the other PE (inputs at 15, finish 25) rather than wait there (finish 30).
    graph = make_graph(["a", "a", "a"], [(0, 1, 5.0), (0, 2, 5.0)])
    simulate(two_cpus, make_workload(graph), make_scheduler("etf"), ONE_JOB, observers=[recorder])
    done = recorder.completed()
    assert done[0, 1].pe == done[0, 0].pe != done[0, 2].pe
    assert recorder.makespan() == 25.0


def test_etf_picks_globally_where_eft_follows_ready_order(make_pe, make_platform, make_graph, make_workload, recorder):
    # Ready order: t0 (kernel b), then t1 (kernel a). EFT gives t0 its best PE (pe0: 11 < 12), which
    # leaves t1 (100 on pe1) waiting for pe0: makespan 21. ETF first places the pair finishing earliest
    # (t1 on pe0 at 10), then t0 on pe1 (12).
    pes = [make_pe(0, {"a": 10.0, "b": 11.0}), make_pe(1, {"a": 100.0, "b": 12.0})]
    workload = make_workload(make_graph(["b", "a"]))
    spans = {}
    for name in ("eft", "etf"):
        rec = type(recorder)()
        simulate(make_platform(pes), workload, make_scheduler(name), ONE_JOB, observers=[rec])
        spans[name] = rec.makespan()
    assert spans == {"eft": 21.0, "etf": 12.0}


def test_round_robin_cycles_through_supporting_pes(make_pe, make_platform, make_graph, make_workload, recorder):
    pes = [make_pe(0, {"a": 10.0}), make_pe(1, {"b": 1.0}), make_pe(2, {"a": 30.0})]
    simulate(make_platform(pes), make_workload(make_graph(["a"] * 5)), make_scheduler("round_robin"), ONE_JOB, observers=[recorder])
    assert [r.pe for r in sorted(recorder.tasks, key=lambda r: r.task)] == [0, 2, 0, 2, 0]


def test_random_uses_only_the_scheduler_stream(random_case, recorder):
    platform, workload = random_case(5)
    runs = []
    for seed in (1, 1, 2):
        rec = type(recorder)()
        simulate(platform, workload, make_scheduler("random"), RunOptions(seed=seed, num_jobs=30), observers=[rec])
        runs.append([(r.job_id, r.task, r.pe) for r in rec.tasks])
    assert runs[0] == runs[1] != runs[2]
    assert len({pe for _, _, pe in runs[0]}) > 3


@pytest.mark.parametrize("name", SIMPLE)
@pytest.mark.parametrize("binding", list(Binding))
def test_schedulers_complete_runs_with_failures_under_both_bindings(random_case, name, binding):
    platform, workload = random_case(6)
    checker = InvariantChecker(workload)
    options = RunOptions(seed=4, num_jobs=40, noise_rsd=0.1, failures=FailureModel(mtbf_us=200.0, repair_us=40.0))
    sim = simulate(platform, workload, make_scheduler(name, binding=binding), options, observers=[checker])
    checker.check()
    assert sim.jobs_completed + sim.jobs_dropped == 40 and sim.tasks_killed > 0


def test_estimates_follow_running_and_queued_work(make_pe, make_platform, make_graph, make_workload):
    platform = make_platform([make_pe(0, {"a": 10.0}, capacity=2), make_pe(1, {"a": 4.0}, launch_overhead_us=1.0)])
    workload = make_workload(make_graph(["a"] * 5))
    sim = Simulation(platform, workload, ONE_JOB)
    view = sim.next_decision()
    sim.submit([Assignment(TaskRef(0, t), 0) for t in range(4)] + [Assignment(TaskRef(0, 4), 1)])
    # pe0: two running until 10, two queued (10 each) -> both slots free at 20; pe1: one running until 5.
    assert sorted(slot_free_times(view, 0)) == [20.0, 20.0]
    assert pe_available_time(view, 1) == 5.0
    assert task_cost(platform.pes[1], "a") == 5.0 and math.isinf(task_cost(platform.pes[1], "zz"))
    avail = Availability(view)
    assert avail.earliest_finish(TaskRef(0, 4), 1) == (5.0, 10.0)
    avail.commit(1, 10.0)
    assert avail.available(1) == 10.0 and pe_available_time(view, 1) == 5.0  # commits stay local
    assert earliest_finish(view, TaskRef(0, 0), 0) == (20.0, 30.0)


def test_estimates_pour_long_queues_evenly(make_pe, make_platform, make_graph, make_workload):
    platform = make_platform([make_pe(0, {"a": 10.0}, capacity=2)])
    sim = Simulation(platform, make_workload(make_graph(["a"] * 21)), ONE_JOB)
    view = sim.next_decision()
    sim.submit([Assignment(TaskRef(0, t), 0) for t in range(21)])
    # 2 running to 10, 19 queued x 10 = 190 us of work over 2 slots: both free at 10 + 95.
    assert sorted(slot_free_times(view, 0)) == [105.0, 105.0]


def test_estimates_see_down_pes_as_never_available(make_pe, make_platform, make_graph, make_workload):
    platform = make_platform([make_pe(0, {"a": 10.0}), make_pe(1, {"a": 10.0})])
    workload = make_workload(make_graph(["a"]), arrivals=ArrivalProcess("fixed", 5.0))
    sim = Simulation(platform, workload, RunOptions(seed=0, num_jobs=200, failures=FailureModel(mtbf_us=20.0, repair_us=20.0)))
    etf = make_scheduler("etf")
    etf.reset(platform, sim.scheduler_rng())
    checked = False
    while (view := sim.next_decision()) is not None:
        for i, s in enumerate(view.pes):
            if s.down:
                assert math.isinf(pe_available_time(view, i))
                checked = True
        sim.submit(etf.decide(view))
    assert checked
