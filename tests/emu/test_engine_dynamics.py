"""Noise, failures, determinism, the outside-agent stepping API and assignment legality."""

from __future__ import annotations

import numpy as np
import pytest

from soc_emu.engine.invariants import InvariantChecker
from soc_emu.engine.simulation import FailureModel, InvalidAssignment, RunOptions, Simulation, simulate
from soc_emu.engine.view import Assignment, Binding, TaskRef, TaskStatus, Trigger
from soc_emu.errors import SocEmuError
from soc_emu.model.workload import ArrivalProcess
from soc_emu.schedulers import make_scheduler


def _records(rec):
    return (rec.tasks, rec.jobs, rec.pe_events, rec.transfers, rec.end_us)


def test_noise_changes_durations_around_the_nominal_time(make_pe, make_platform, make_graph, make_workload, recorder):
    platform = make_platform([make_pe(0, {"a": 10.0}, capacity=4)])
    workload = make_workload(make_graph(["a"]), arrivals=ArrivalProcess("fixed", 5.0))
    simulate(platform, workload, make_scheduler("met"), RunOptions(seed=1, num_jobs=4000, noise_rsd=0.2), observers=[recorder])
    durations = np.array([r.finish_us - r.start_us for r in recorder.tasks])
    assert durations.min() > 0
    assert durations.mean() == pytest.approx(10.0, rel=0.02)
    assert durations.std() == pytest.approx(2.0, rel=0.08)


def test_noise_is_truncated_to_stay_positive(make_pe, make_platform, make_graph, make_workload, recorder):
    platform = make_platform([make_pe(0, {"a": 10.0}, capacity=8)])
    workload = make_workload(make_graph(["a"]), arrivals=ArrivalProcess("fixed", 1.0))
    simulate(platform, workload, make_scheduler("met"), RunOptions(seed=2, num_jobs=2000, noise_rsd=2.0), observers=[recorder])
    assert min(r.finish_us - r.start_us for r in recorder.tasks) > 0


@pytest.mark.parametrize("scheduler", ["random", "etf"])
def test_same_seed_gives_identical_records(random_case, recorder, scheduler):
    platform, workload = random_case(11, shared_bus=True)
    options = RunOptions(seed=5, num_jobs=60, noise_rsd=0.3, failures=FailureModel(mtbf_us=400.0, repair_us=50.0))
    runs = []
    for seed in (5, 5, 6):
        rec = type(recorder)()
        simulate(platform, workload, make_scheduler(scheduler), RunOptions(**{**options.__dict__, "seed": seed}), observers=[rec])
        runs.append(_records(rec))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_arrivals_are_the_same_under_every_scheduler(random_case, recorder):
    platform, workload = random_case(3)
    arrivals = []
    for name in ("met", "random", "etf"):
        rec = type(recorder)()
        simulate(platform, workload, make_scheduler(name), RunOptions(seed=9, num_jobs=40, noise_rsd=0.1), observers=[rec])
        arrivals.append(sorted((j.job_id, j.app, j.arrival_us) for j in rec.jobs))
    assert arrivals[0] == arrivals[1] == arrivals[2]


def test_failures_kill_tasks_and_every_job_still_completes(random_case, recorder):
    platform, workload = random_case(4)
    checker = InvariantChecker(workload)
    failures = FailureModel(mtbf_us=150.0, repair_us=30.0)
    sim = simulate(platform, workload, make_scheduler("etf"), RunOptions(seed=3, num_jobs=80, failures=failures),
                   observers=[recorder, checker])
    checker.check()
    assert sim.jobs_completed + sim.jobs_dropped == 80
    killed = [r for r in recorder.tasks if not r.completed]
    assert killed and sim.tasks_killed == len(killed)
    down = {e.pe: [] for e in recorder.pe_events}
    for e in recorder.pe_events:
        down[e.pe].append(e.down)
    for states in down.values():  # down, up, down, ... per PE
        assert states == [i % 2 == 0 for i in range(len(states))]
    for r in killed:  # a killed execution ends exactly when its PE went down
        assert any(e.pe == r.pe and e.down and e.time_us == r.finish_us for e in recorder.pe_events)


def test_failures_only_hit_the_named_pe_types(random_case, recorder):
    platform, workload = random_case(4)
    simulate(platform, workload, make_scheduler("met"), RunOptions(seed=3, num_jobs=60,
             failures=FailureModel(mtbf_us=100.0, repair_us=20.0, pe_types=("gpu",))), observers=[recorder])
    assert recorder.pe_events and {platform.pes[e.pe].pe_type for e in recorder.pe_events} == {"gpu"}


def _fixed_choice(view, ref):
    """A deterministic mapping that depends only on the task: first PE able to run it, by (task + job) order."""
    options = view.platform.pes_supporting(view.kernel(ref))
    return options[(ref.job_id + ref.task) % len(options)]


class _ChoiceScheduler:
    binding = Binding.ON_READY
    dispatch_order = "first_ready"

    def reset(self, platform, rng):
        pass

    def decide(self, view):
        return [Assignment(ref, _fixed_choice(view, ref)) for ref in view.ready]


@pytest.mark.parametrize("binding", list(Binding))
def test_outside_agent_stepping_one_task_at_a_time_matches_simulate(random_case, recorder, binding):
    platform, workload = random_case(8)
    options = RunOptions(seed=2, num_jobs=50, noise_rsd=0.2)

    sched = _ChoiceScheduler()
    sched.binding = binding
    if binding is Binding.LATE:
        # Late binding: only idle PEs; the choice becomes "first idle PE that can run it".
        def decide(view):
            idle = set(view.idle_pes())
            out, used = [], set()
            for ref in view.ready:
                free = [p for p in view.platform.pes_supporting(view.kernel(ref)) if p in idle and p not in used]
                if free:
                    used.add(free[0])
                    out.append(Assignment(ref, free[0]))
            return out

        sched.decide = decide
    simulate(platform, workload, sched, options, observers=[recorder])

    stepped = type(recorder)()
    sim = Simulation(platform, workload, options, binding=binding, observers=[stepped])
    steps = 0
    while (view := sim.next_decision()) is not None:
        assert sim.next_decision() is view  # idempotent while open
        choice = sched.decide(view)
        sim.submit(choice[:1])  # one task per step: the next decision opens at the same time
        steps += 1
    assert _records(stepped) == _records(recorder)
    assert steps >= stepped.jobs[0].num_tasks


def test_decision_points_follow_events(two_cpus, make_graph, make_workload):
    workload = make_workload(make_graph(["a", "a", "a"], [(0, 1, 0.0), (0, 2, 0.0)]))
    sim = Simulation(two_cpus, workload, RunOptions(num_jobs=1))
    view = sim.next_decision()
    assert (view.now, view.trigger, list(view.ready)) == (0.0, Trigger.ARRIVAL, [TaskRef(0, 0)])
    sim.submit([Assignment(TaskRef(0, 0), 1)])
    assert view.jobs[0].status[0] == TaskStatus.RUNNING and view.pes[1].busy_slots == 1
    view = sim.next_decision()
    assert (view.now, view.trigger, list(view.ready)) == (10.0, Trigger.TASK_DONE, [TaskRef(0, 1), TaskRef(0, 2)])
    sim.submit([])  # declined: nothing happens until the next event... and there is none
    with pytest.raises(RuntimeError, match="never assigned"):
        sim.next_decision()


def test_invalid_assignments_are_rejected_with_a_reason_and_change_nothing(hetero_platform, make_graph, make_workload):
    workload = make_workload(make_graph(["fft", "vit"], [(0, 1, 0.0)], name="app"))
    sim = Simulation(hetero_platform, workload, RunOptions(num_jobs=1))
    sim.next_decision()
    cases = [
        (Assignment(TaskRef(0, 1), 0), r"'t1' \(#1\) of job 0 \(app\) is WAITING"),
        (Assignment(TaskRef(5, 0), 0), "job 5 is not in the system"),
        (Assignment(TaskRef(0, 7), 0), "has no task 7"),
        (Assignment(TaskRef(0, 0), 9), "no PE with index 9"),
        (Assignment(TaskRef(0, 0), -1), "no PE with index -1"),
        ("junk", "not an Assignment"),
    ]
    for bad, message in cases:
        with pytest.raises(InvalidAssignment, match=message):
            sim.submit([bad])
    with pytest.raises(InvalidAssignment, match="assigned twice"):
        sim.submit([Assignment(TaskRef(0, 0), 0), Assignment(TaskRef(0, 0), 1)])
    assert sim.view().jobs[0].status[0] == TaskStatus.READY  # all checked before any applied
    sim.submit([Assignment(TaskRef(0, 0), 0)])
    with pytest.raises(RuntimeError, match="without an open decision"):
        sim.submit([Assignment(TaskRef(0, 0), 0)])
    view = sim.next_decision()  # task 0 done at 40 on big0: task 1 (vit) is ready
    assert view.now == 40.0 and list(view.ready) == [TaskRef(0, 1)]
    with pytest.raises(InvalidAssignment, match=r"PE gpu0 \(#2\) cannot run kernel 'vit'"):
        sim.submit([Assignment(TaskRef(0, 1), 2)])
    with pytest.raises(InvalidAssignment, match="is DONE"):
        sim.submit([Assignment(TaskRef(0, 0), 0)])


def test_late_binding_rejects_busy_pes_and_extra_tasks(make_pe, make_platform, make_graph, make_workload):
    platform = make_platform([make_pe(0, {"a": 10.0}), make_pe(1, {"a": 10.0}, capacity=2)])
    workload = make_workload(make_graph(["a", "a", "a", "a"]))
    sim = Simulation(platform, workload, RunOptions(num_jobs=1), binding=Binding.LATE)
    view = sim.next_decision()
    assert view.idle_pes() == [0, 1]
    with pytest.raises(InvalidAssignment, match="one task per free slot"):
        sim.submit([Assignment(TaskRef(0, t), 0) for t in range(2)])
    sim.submit([Assignment(TaskRef(0, 0), 0), Assignment(TaskRef(0, 1), 1)])
    view = sim.next_decision()
    assert view.now == 0.0 and view.idle_pes() == [1]
    with pytest.raises(InvalidAssignment, match="only idle PEs"):
        sim.submit([Assignment(TaskRef(0, 2), 0)])
    sim.submit([Assignment(TaskRef(0, 2), 1)])
    view = sim.next_decision()
    assert view.now == 10.0 and view.trigger == Trigger.PE_FREE


def test_down_pe_rejects_assignments(make_pe, make_platform, make_graph, make_workload):
    platform = make_platform([make_pe(0, {"a": 10.0}), make_pe(1, {"a": 10.0})])
    workload = make_workload(make_graph(["a"]), arrivals=ArrivalProcess("fixed", 3.0))
    sim = Simulation(platform, workload, RunOptions(seed=1, num_jobs=400, failures=FailureModel(mtbf_us=30.0, repair_us=30.0)))
    seen_down = False
    triggers = set()
    while (view := sim.next_decision()) is not None:
        triggers.add(view.trigger)
        down = [i for i, s in enumerate(view.pes) if s.down]
        up = [i for i, s in enumerate(view.pes) if not s.down]
        if down and not seen_down:
            seen_down = True
            with pytest.raises(InvalidAssignment, match="is down"):
                sim.submit([Assignment(view.ready[0], down[0])])
        sim.submit([Assignment(view.ready[0], up[0])] if up else [])
    assert seen_down and sim.jobs_completed == 400
    assert {Trigger.ARRIVAL, Trigger.PE_FAILURE, Trigger.PE_REPAIR} <= triggers


def test_unknown_dispatch_order_is_a_user_error(two_cpus, make_graph, make_workload):
    with pytest.raises(SocEmuError, match="dispatch order"):
        Simulation(two_cpus, make_workload(make_graph(["a"])), RunOptions(), dispatch_order="fifo")
