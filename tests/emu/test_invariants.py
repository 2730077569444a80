"""The invariant checker: sound runs pass across schedulers and options, corrupted record streams fail."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from soc_emu.engine.invariants import InvariantChecker
from soc_emu.engine.records import JobRecord, PEEventRecord, TaskRecord
from soc_emu.engine.simulation import FailureModel, RunOptions, simulate
from soc_emu.engine.view import Binding
from soc_emu.model.workload import ArrivalProcess
from soc_emu.schedulers import make_scheduler, scheduler_names

SCHEDULERS = [n for n in ("random", "round_robin", "met", "etf", "eft", "heft", "srpt_eft") if n in scheduler_names()]
# Each random case runs every scheduler under both bindings; the seed picks noise, failures, bus and order.
CASES = list(itertools.product(range(6), SCHEDULERS, list(Binding)))


def _options(seed: int) -> tuple[RunOptions, str]:
    noise = (0.0, 0.25)[seed % 2]
    failures = FailureModel(mtbf_us=250.0, repair_us=40.0) if seed % 3 != 1 else None
    order = ("first_ready", "in_order")[(seed // 2) % 2]
    return RunOptions(seed=seed, num_jobs=50, noise_rsd=noise, failures=failures), order


@pytest.mark.parametrize(("seed", "name", "binding"), CASES)
def test_random_runs_satisfy_every_invariant(random_case, seed, name, binding):
    platform, workload = random_case(100 + seed, shared_bus=seed % 2 == 0)
    options, order = _options(seed)
    scheduler = make_scheduler(name, binding=binding)
    scheduler.dispatch_order = order  # instance override: both queue disciplines for every scheduler
    checker = InvariantChecker(workload)
    sim = simulate(platform, workload, scheduler, options, observers=[checker])
    checker.check()
    assert sim.jobs_completed + sim.jobs_dropped == 50
    assert checker.jobs_checked == 50 and checker.tasks_checked >= sim.tasks_completed


def test_random_dag_generator_workloads_satisfy_the_invariants(hetero_platform):
    random_dag = pytest.importorskip("soc_emu.workloads.random_dag")
    from soc_emu.model.workload import JobMix, Workload

    rng = np.random.default_rng(0)
    graph, platform = random_dag.generate(random_dag.RandomDagSpec(tasks=30, ccr=1.0, seed=0), hetero_platform, rng)
    workload = Workload("rand", JobMix((graph,), (1.0,)), ArrivalProcess("poisson", 150.0))
    for name in SCHEDULERS:
        checker = InvariantChecker(workload)
        simulate(platform, workload, make_scheduler(name), RunOptions(seed=1, num_jobs=15, noise_rsd=0.2), observers=[checker])
        checker.check()


# ---------------------------------------------------------------------------------------- corruptions


class _Tamper:
    """Forwards records to the checker, changing the ones ``edit`` rewrites (returns a record or None)."""

    def __init__(self, checker: InvariantChecker, edit) -> None:
        self.checker = checker
        self.edit = edit

    def on_start(self, platform, start_us):
        self.checker.on_start(platform, start_us)

    def on_task(self, rec):
        rec = self.edit(rec)
        if rec is not None:
            self.checker.on_task(rec)

    def on_job(self, rec):
        self.checker.on_job(rec)

    def on_pe_event(self, rec):
        self.checker.on_pe_event(rec)

    def on_transfer(self, rec):
        self.checker.on_transfer(rec)

    def on_finish(self, end_us):
        self.checker.on_finish(end_us)


def _run_tampered(two_cpus, make_graph, make_workload, edit):
    graph = make_graph(["a", "b", "a"], [(0, 1, 4.0), (1, 2, 3.0)])
    workload = make_workload(graph, arrivals=ArrivalProcess("fixed", 15.0))
    checker = InvariantChecker(workload)
    simulate(two_cpus, workload, make_scheduler("etf"), RunOptions(num_jobs=4), observers=[_Tamper(checker, edit)])
    return checker


def test_untampered_stream_passes(two_cpus, make_graph, make_workload):
    _run_tampered(two_cpus, make_graph, make_workload, lambda r: r).check()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # job 1's task 1 starts 1 us too early (before its input data can be there)
        (lambda r: dataclasses.replace(r, start_us=r.start_us - 1.0) if (r.job_id, r.task) == (1, 1) else r, "before the data"),
        # a task moved onto the other PE's slot while that slot is busy (or without its data)
        (lambda r: dataclasses.replace(r, slot=1) if (r.job_id, r.task) == (2, 0) else r, "outside the PE's capacity"),
        # a task record lost
        (lambda r: None if (r.job_id, r.task) == (3, 2) else r, "never completed"),
        # a kernel the PE cannot run
        (lambda r: dataclasses.replace(r, kernel="zz") if (r.job_id, r.task) == (0, 0) else r, "cannot run kernel"),
        # a finish that is before the start
        (lambda r: dataclasses.replace(r, finish_us=r.start_us - 1.0) if (r.job_id, r.task) == (0, 2) else r, "bad interval"),
    ],
)
def test_corrupted_streams_are_caught(two_cpus, make_graph, make_workload, edit, message):
    checker = _run_tampered(two_cpus, make_graph, make_workload, edit)
    with pytest.raises(AssertionError, match=message):
        checker.check()


def test_overlapping_executions_on_one_slot_are_caught(two_cpus, make_graph):
    graph = make_graph(["a"])
    checker = InvariantChecker([graph])
    checker.on_start(two_cpus, 0.0)
    for job, start in ((0, 0.0), (1, 5.0)):
        checker.on_task(TaskRecord(job, "app", 0, "t0", "a", 0, "cpu0", 0, 0.0, start, start + 10.0, 0.0))
        checker.on_job(JobRecord(job, "app", 0.0, 0.0, start + 10.0, None, 1))
    with pytest.raises(AssertionError, match="capacity exceeded"):
        checker.check()


def test_running_on_a_down_pe_and_double_completion_are_caught(two_cpus, make_graph):
    checker = InvariantChecker([make_graph(["a"])])
    checker.on_start(two_cpus, 0.0)
    checker.on_pe_event(PEEventRecord(1, "cpu1", 3.0, True))
    checker.on_pe_event(PEEventRecord(1, "cpu1", 4.0, False))
    checker.on_task(TaskRecord(0, "app", 0, "t0", "a", 1, "cpu1", 0, 0.0, 0.0, 10.0, 0.0))
    checker.on_task(TaskRecord(0, "app", 0, "t0", "a", 0, "cpu0", 0, 0.0, 10.0, 20.0, 0.0))
    checker.on_job(JobRecord(0, "app", 0.0, 0.0, 20.0, None, 1))
    with pytest.raises(AssertionError, match=r"(?s)while the PE was down.*completed twice"):
        checker.check()


def test_wrong_job_finish_is_caught(two_cpus, make_graph):
    checker = InvariantChecker([make_graph(["a"])])
    checker.on_start(two_cpus, 0.0)
    checker.on_task(TaskRecord(0, "app", 0, "t0", "a", 0, "cpu0", 0, 0.0, 0.0, 10.0, 0.0))
    checker.on_job(JobRecord(0, "app", 0.0, 0.0, 12.0, None, 1))
    with pytest.raises(AssertionError, match="not the last task finish"):
        checker.check()
