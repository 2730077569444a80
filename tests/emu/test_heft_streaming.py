"""Streaming HEFT (soc_emu.schedulers.heft) driven by the engine."""

from __future__ import annotations

import pytest

from soc_emu.engine.invariants import InvariantChecker
from soc_emu.engine.options import FailureModel, RunOptions
from soc_emu.engine.records import JobRecord, TaskRecord
from soc_emu.engine.simulation import simulate
from soc_emu.engine.view import Binding
from soc_emu.errors import SocEmuError
from soc_emu.formats import load_platform, load_workload
from soc_emu.model import ArrivalProcess, JobMix, Workload
from soc_emu.schedulers.heft import HeftScheduler
from soc_emu.schedulers.registry import make_scheduler
from test_heft_plan import PAPER_SCHEDULE, topcuoglu_graph, topcuoglu_platform

BINDINGS = [Binding.ON_READY, Binding.LATE]


class Recorder:
    """Keeps task and job records of a run."""

    def __init__(self) -> None:
        self.tasks: list[TaskRecord] = []
        self.jobs: list[JobRecord] = []

    def on_task(self, record: TaskRecord) -> None:
        self.tasks.append(record)

    def on_job(self, record: JobRecord) -> None:
        self.jobs.append(record)


def topcuoglu_workload(arrivals: ArrivalProcess | None = None) -> Workload:
    return Workload("top", JobMix((topcuoglu_graph(),), (1.0,)), arrivals or ArrivalProcess("fixed", 1000.0))


def test_registered_as_heft_with_in_order_dispatch() -> None:
    scheduler = make_scheduler("heft")
    assert isinstance(scheduler, HeftScheduler)
    assert scheduler.dispatch_order == "in_order"
    assert scheduler.binding is Binding.ON_READY
    assert make_scheduler("heft", binding=Binding.LATE).binding is Binding.LATE


@pytest.mark.parametrize("binding", BINDINGS)
def test_single_topcuoglu_job_runs_the_papers_schedule_in_80_us(binding: Binding) -> None:
    rec = Recorder()
    scheduler = HeftScheduler(binding=binding)
    sim = simulate(topcuoglu_platform(), topcuoglu_workload(), scheduler, RunOptions(num_jobs=1), observers=[rec])
    (job,) = rec.jobs
    assert job.finish_us - job.admitted_us == 80.0
    assert sim.now == 80.0
    got = {int(r.task_name[1:]): (r.pe + 1, r.start_us, r.finish_us) for r in rec.tasks}
    assert got == PAPER_SCHEDULE
    assert scheduler.replans == 1


def test_builtin_topcuoglu_platform_and_workload_run_in_80_us() -> None:
    rec = Recorder()
    platform, workload = load_platform("topcuoglu"), load_workload("topcuoglu")
    simulate(platform, workload, make_scheduler("heft"), RunOptions(num_jobs=1), observers=[rec])
    (job,) = rec.jobs
    assert job.finish_us - job.admitted_us == 80.0


def test_well_spaced_jobs_each_take_80_us() -> None:
    rec = Recorder()
    workload = topcuoglu_workload(ArrivalProcess("fixed", 100.0))
    scheduler = HeftScheduler()
    simulate(topcuoglu_platform(), workload, scheduler, RunOptions(num_jobs=5), observers=[rec])
    assert [j.finish_us - j.admitted_us for j in rec.jobs] == [80.0] * 5
    assert scheduler.replans == 5  # one plan per arrival


def test_overlapping_jobs_older_job_keeps_its_plan() -> None:
    # Two jobs 20 us apart. The second is planned around the first's plan (job_order="arrival") and the
    # slot order is kept, so the first still finishes at 80; the second uses the gaps and finishes well
    # before running the two back to back would (160).
    rec = Recorder()
    workload = topcuoglu_workload(ArrivalProcess("trace", trace_us=(0.0, 20.0)))
    simulate(topcuoglu_platform(), workload, HeftScheduler(), RunOptions(num_jobs=2), observers=[rec])
    first, second = sorted(rec.jobs, key=lambda j: j.job_id)
    assert first.finish_us == 80.0
    assert second.finish_us < 140.0
    _check_precedence_and_slots(rec, topcuoglu_platform())


def test_without_slot_order_a_later_planned_task_can_take_the_slot() -> None:
    # The same two jobs without holding: job 1's task 6 takes P2 when it frees at 68, before job 0's
    # task 10 (planned there at 73) is ready, so job 0 finishes late. This is why slot order is kept.
    rec = Recorder()
    workload = topcuoglu_workload(ArrivalProcess("trace", trace_us=(0.0, 20.0)))
    scheduler = HeftScheduler(keep_slot_order=False)
    simulate(topcuoglu_platform(), workload, scheduler, RunOptions(num_jobs=2), observers=[rec])
    first = min(rec.jobs, key=lambda j: j.job_id)
    assert first.finish_us > 80.0


def test_rank_job_order_lets_a_newcomer_delay_the_older_job() -> None:
    rec = Recorder()
    workload = topcuoglu_workload(ArrivalProcess("trace", trace_us=(0.0, 20.0)))
    simulate(topcuoglu_platform(), workload, HeftScheduler(job_order="rank"), RunOptions(num_jobs=2), observers=[rec])
    first = min(rec.jobs, key=lambda j: j.job_id)
    assert first.finish_us > 80.0


@pytest.mark.parametrize(
    "options, message",
    [
        ({"job_order": "fifo"}, "job_order"),
        ({"keep_slot_order": "no"}, "keep_slot_order"),
        ({"max_planned_tasks": 0}, "max_planned_tasks"),
        ({"max_planned_tasks": "many"}, "max_planned_tasks"),
    ],
)
def test_bad_options_are_user_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(SocEmuError, match=message) as err:
        make_scheduler("heft", **options)
    assert err.value.source == "--scheduler-option"


def _check_precedence_and_slots(rec: Recorder, platform) -> None:  # type: ignore[no-untyped-def]
    """Completed executions respect data dependencies (with transfers) and never overlap on a slot."""
    done = {(r.job_id, r.task): r for r in rec.tasks if r.completed}
    graph = topcuoglu_graph()
    for (job_id, task), r in done.items():
        for src, volume in graph.preds[task]:
            p = done[(job_id, src)]
            assert r.start_us >= p.finish_us + platform.transfer_time(p.pe, r.pe, volume) - 1e-9
    by_slot: dict[tuple[int, int], list[TaskRecord]] = {}
    for r in rec.tasks:
        by_slot.setdefault((r.pe, r.slot), []).append(r)
    for records in by_slot.values():
        records.sort(key=lambda r: r.start_us)
        for a, b in zip(records, records[1:]):
            assert b.start_us >= a.finish_us - 1e-9


@pytest.mark.parametrize("binding", BINDINGS)
@pytest.mark.parametrize("platform_name", ["ds3", "hetero"])
def test_stream_with_noise_and_failures_completes_and_keeps_invariants(binding: Binding, platform_name: str) -> None:
    platform, workload = load_platform(platform_name), load_workload("ds3_mix")
    options = RunOptions(seed=7, num_jobs=120, noise_rsd=0.2, failures=FailureModel(mtbf_us=1500.0, repair_us=200.0))
    checker = InvariantChecker(workload)
    scheduler = HeftScheduler(binding=binding)
    sim = simulate(platform, workload, scheduler, options, observers=[checker])
    assert sim.jobs_completed == 120
    assert sim.tasks_killed > 0  # failures did hit running tasks
    assert scheduler.replans > 120  # failures and repairs forced extra plans
    checker.check()
    assert checker.jobs_checked == 120


def test_same_seed_same_run() -> None:
    platform, workload = load_platform("ds3"), load_workload("ds3_mix")
    options = RunOptions(seed=11, num_jobs=40, noise_rsd=0.1, failures=FailureModel(mtbf_us=2000.0, repair_us=100.0))
    runs = []
    for _ in range(2):
        rec = Recorder()
        simulate(platform, workload, HeftScheduler(), options, observers=[rec])
        runs.append(rec.tasks)
    assert runs[0] == runs[1]


class PlannedStartSpy(HeftScheduler):
    """HEFT that remembers the planned start it gave each task (the assignment's priority)."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.planned: dict[tuple[int, int], tuple[int, float]] = {}

    def decide(self, view):  # type: ignore[no-untyped-def]
        out = super().decide(view)
        for a in out:
            self.planned[(a.task.job_id, a.task.task)] = (a.pe, a.priority)
        return out


@pytest.mark.parametrize("binding", BINDINGS)
@pytest.mark.parametrize("platform_name, workload_name", [("ds3", "ds3_mix"), ("topcuoglu", "topcuoglu")])
def test_without_noise_every_task_starts_when_planned(binding: Binding, platform_name: str, workload_name: str) -> None:
    # Overlapping jobs, re-planned on every arrival: the plan in force when a task is assigned is exact.
    rec = Recorder()
    scheduler = PlannedStartSpy(binding=binding)
    simulate(
        load_platform(platform_name), load_workload(workload_name), scheduler, RunOptions(seed=2, num_jobs=150),
        observers=[rec],
    )
    assert len(rec.jobs) == 150
    late = [
        (r.job_id, r.task_name, scheduler.planned[(r.job_id, r.task)], (r.pe, r.start_us))
        for r in rec.tasks
        if scheduler.planned[(r.job_id, r.task)] != (r.pe, pytest.approx(r.start_us, abs=1e-9))
    ]
    assert late == []
    jobs = sorted(rec.jobs, key=lambda j: j.job_id)
    assert sum(b.admitted_us < a.finish_us for a, b in zip(jobs, jobs[1:])) > 10  # jobs did overlap


@pytest.mark.parametrize("binding", BINDINGS)
def test_planning_horizon_defers_young_jobs_and_spares_old_ones(binding: Binding) -> None:
    # Five jobs at once, a horizon of one job: the oldest runs its 80 us plan, the others wait their turn.
    rec = Recorder()
    workload = topcuoglu_workload(ArrivalProcess("trace", trace_us=(0.0,) * 5))
    checker = InvariantChecker(workload)
    scheduler = HeftScheduler(binding=binding, max_planned_tasks=10)
    simulate(topcuoglu_platform(), workload, scheduler, RunOptions(num_jobs=5), observers=[rec, checker])
    checker.check()
    jobs = sorted(rec.jobs, key=lambda j: j.job_id)
    assert len(jobs) == 5 and jobs[0].finish_us == 80.0
    assert scheduler.replans >= 5  # deferred jobs were planned later, one by one
    # A young job never starts before it is planned: job 4 starts after job 0 finished half its tasks.
    first_start = {j: min(r.start_us for r in rec.tasks if r.job_id == j) for j in range(5)}
    assert first_start[4] > 0.0


def test_planning_horizon_keeps_an_overloaded_system_moving() -> None:
    platform, workload = load_platform("ds3"), load_workload("ds3_mix")
    workload = Workload(workload.name, workload.mix, ArrivalProcess("poisson", 10.0))
    checker = InvariantChecker(workload)
    scheduler = HeftScheduler(max_planned_tasks=60)
    sim = simulate(platform, workload, scheduler, RunOptions(seed=5, num_jobs=80, noise_rsd=0.1), observers=[checker])
    checker.check()
    assert sim.jobs_completed == 80
