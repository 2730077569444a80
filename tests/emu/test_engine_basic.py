"""Hand-computed schedules on tiny graphs: precedence, transfers, capacity, overheads, dispatch orders."""

from __future__ import annotations

import dataclasses
import math

import pytest

from soc_emu.engine.simulation import RunOptions, simulate
from soc_emu.engine.view import Binding
from soc_emu.errors import SocEmuError
from soc_emu.model.platform import Link
from soc_emu.schedulers import make_scheduler

ONE_JOB = RunOptions(seed=0, num_jobs=1)


def run_fixed(platform, graph, mapping, make_workload, recorder, fixed_scheduler, **kw):
    sim = simulate(platform, make_workload(graph), fixed_scheduler(mapping, **kw), ONE_JOB, observers=[recorder])
    assert sim.finished and sim.jobs_completed == 1
    return recorder


@pytest.mark.parametrize(("pes", "expected"), [((0, 0), 30.0), ((0, 1), 35.0)])
def test_chain_same_pe_transfer_is_free_and_cross_pe_costs_volume_over_bandwidth(
    two_cpus, make_graph, make_workload, recorder, fixed_scheduler, pes, expected
):
    graph = make_graph(["a", "b"], [(0, 1, 5.0)])
    rec = run_fixed(two_cpus, graph, {0: pes[0], 1: pes[1]}, make_workload, recorder, fixed_scheduler)
    assert rec.makespan() == expected
    done = rec.completed()
    assert done[0, 1].start_us == expected - 20.0
    assert done[0, 1].ready_us == 10.0  # ready when the predecessor finished, before the data arrived


def test_fork_join_runs_branches_in_parallel(two_cpus, make_graph, make_workload, recorder, fixed_scheduler):
    graph = make_graph(["a", "a", "a", "a"], [(0, 1, 0.0), (0, 2, 0.0), (1, 3, 0.0), (2, 3, 0.0)])
    rec = run_fixed(two_cpus, graph, {0: 0, 1: 0, 2: 1, 3: 0}, make_workload, recorder, fixed_scheduler)
    assert rec.makespan() == 30.0
    assert [rec.completed()[0, t].start_us for t in range(4)] == [0.0, 10.0, 10.0, 20.0]


def test_fork_join_on_one_pe_serialises(two_cpus, make_graph, make_workload, recorder, fixed_scheduler):
    graph = make_graph(["a", "a", "a", "a"], [(0, 1, 0.0), (0, 2, 0.0), (1, 3, 0.0), (2, 3, 0.0)])
    rec = run_fixed(two_cpus, graph, {t: 0 for t in range(4)}, make_workload, recorder, fixed_scheduler)
    assert rec.makespan() == 40.0


def test_link_latency_plus_volume_over_bandwidth(make_pe, make_platform, make_graph, make_workload, recorder, fixed_scheduler):
    platform = make_platform([make_pe(0, {"a": 10.0}), make_pe(1, {"a": 10.0})], bandwidth=2.0, latency_us=1.0)
    graph = make_graph(["a", "a", "a"], [(0, 1, 4.0), (0, 2, 0.0)])
    rec = run_fixed(platform, graph, {0: 0, 1: 1, 2: 1}, make_workload, recorder, fixed_scheduler)
    done = rec.completed()
    assert done[0, 2].start_us == 10.0  # no data: no latency either
    assert done[0, 1].start_us == 20.0  # queued behind task 2 (assigned together, ties: first assigned)


def test_same_pe_link_is_used_within_a_pe(make_pe, make_platform, make_graph, make_workload, recorder, fixed_scheduler):
    platform = make_platform([make_pe(0, {"a": 10.0})], same_pe=Link(bandwidth=4.0, latency_us=0.5))
    graph = make_graph(["a", "a"], [(0, 1, 8.0)])
    rec = run_fixed(platform, graph, {0: 0, 1: 0}, make_workload, recorder, fixed_scheduler)
    assert rec.makespan() == 10.0 + 0.5 + 2.0 + 10.0


def test_capacity_two_runs_two_tasks_at_once(make_pe, make_platform, make_graph, make_workload, recorder, fixed_scheduler):
    platform = make_platform([make_pe(0, {"a": 10.0}, capacity=2)])
    graph = make_graph(["a", "a", "a"])
    rec = run_fixed(platform, graph, {0: 0, 1: 0, 2: 0}, make_workload, recorder, fixed_scheduler)
    assert rec.makespan() == 20.0
    starts = sorted((r.start_us, r.slot) for r in rec.tasks)
    assert starts == [(0.0, 0), (0.0, 1), (10.0, 0)]


def test_gpu_launch_overhead_is_added_to_every_task(hetero_platform, make_graph, make_workload, recorder, fixed_scheduler):
    graph = make_graph(["fft", "mm"], [(0, 1, 0.0)])
    rec = run_fixed(hetero_platform, graph, {0: 2, 1: 2}, make_workload, recorder, fixed_scheduler)
    assert rec.makespan() == (2.0 + 8.0) + (2.0 + 10.0)
    assert [r.overhead_us for r in rec.tasks] == [2.0, 2.0]


def test_fpga_reconfigures_only_when_the_slot_kernel_changes(hetero_platform, make_graph, make_workload, recorder, fixed_scheduler):
    # A chain on the 2-slot FPGA (reconfiguration 5 us): fft 5, vit 6, vit 6, fft 5.
    graph = make_graph(["fft", "vit", "vit", "fft"], [(0, 1, 0.0), (1, 2, 0.0), (2, 3, 0.0)])
    rec = run_fixed(hetero_platform, graph, {t: 3 for t in range(4)}, make_workload, recorder, fixed_scheduler)
    overheads = [r.overhead_us for r in sorted(rec.tasks, key=lambda r: r.start_us)]
    # fft loads slot 0; vit takes the empty slot 1 rather than evicting fft; the second vit reuses slot 1;
    # the last fft finds fft still loaded in slot 0.
    assert overheads == [5.0, 5.0, 0.0, 0.0]
    assert rec.makespan() == 10.0 + 11.0 + 6.0 + 5.0
    slots = [r.slot for r in sorted(rec.tasks, key=lambda r: r.start_us)]
    assert slots == [0, 1, 1, 0]


def test_shared_bus_serialises_transfers(make_pe, make_platform, make_graph, make_workload, recorder, fixed_scheduler):
    pes = [make_pe(i, {"a": 10.0}) for i in range(3)]
    graph = make_graph(["a", "a", "a"], [(0, 2, 10.0), (1, 2, 10.0)])
    mapping = {0: 0, 1: 1, 2: 2}
    free = run_fixed(make_platform(pes, bandwidth=1.0), graph, mapping, make_workload, recorder, fixed_scheduler)
    assert free.makespan() == 10.0 + 10.0 + 10.0
    assert free.transfers == []

    bus_rec = type(recorder)()
    sim = simulate(make_platform(pes, bandwidth=1.0, shared_bus=True), make_workload(graph), fixed_scheduler(mapping), ONE_JOB,
                   observers=[bus_rec])
    assert sim.finished
    assert bus_rec.makespan() == 10.0 + 10.0 + 10.0 + 10.0
    assert sorted((t.start_us, t.finish_us) for t in bus_rec.transfers) == [(10.0, 20.0), (20.0, 30.0)]
    # The option overrides the platform's setting.
    over = type(recorder)()
    simulate(make_platform(pes, bandwidth=1.0), make_workload(graph), fixed_scheduler(mapping),
             RunOptions(num_jobs=1, shared_bus=True), observers=[over])
    assert over.makespan() == 40.0


def _queue_order_case(make_pe, make_platform, make_graph):
    # t0 on PE1; then t1 (needs 20 units: inputs at 30) and t2 (no data: inputs at 10) both go to PE0,
    # t1 with the lower priority value.
    platform = make_platform([make_pe(0, {"a": 10.0, "b": 20.0}), make_pe(1, {"a": 10.0, "b": 20.0})], bandwidth=1.0)
    graph = make_graph(["a", "a", "b"], [(0, 1, 20.0), (0, 2, 0.0)])
    return platform, graph, {0: 1, 1: (0, 0.0), 2: (0, 1.0)}


def test_first_ready_dispatch_starts_the_task_whose_inputs_arrived(make_pe, make_platform, make_graph, make_workload, recorder, fixed_scheduler):
    platform, graph, mapping = _queue_order_case(make_pe, make_platform, make_graph)
    rec = run_fixed(platform, graph, mapping, make_workload, recorder, fixed_scheduler, dispatch_order="first_ready")
    done = rec.completed()
    assert (done[0, 2].start_us, done[0, 1].start_us) == (10.0, 30.0)
    assert rec.makespan() == 40.0


def test_in_order_dispatch_waits_for_the_first_queued_task(make_pe, make_platform, make_graph, make_workload, recorder, fixed_scheduler):
    platform, graph, mapping = _queue_order_case(make_pe, make_platform, make_graph)
    rec = run_fixed(platform, graph, mapping, make_workload, recorder, fixed_scheduler, dispatch_order="in_order")
    done = rec.completed()
    assert (done[0, 1].start_us, done[0, 2].start_us) == (30.0, 40.0)
    assert rec.makespan() == 60.0


def test_late_binding_uses_idle_pes_where_on_ready_queues_on_the_fastest(make_pe, make_platform, make_graph, make_workload, recorder):
    Recorder = type(recorder)

    platform = make_platform([make_pe(0, {"a": 10.0}), make_pe(1, {"a": 15.0})])
    workload = make_workload(make_graph(["a"] * 4))
    spans = {}
    for binding in Binding:
        rec = Recorder()
        simulate(platform, workload, make_scheduler("met", binding=binding), ONE_JOB, observers=[rec])
        spans[binding] = rec.makespan()
    assert spans == {Binding.ON_READY: 40.0, Binding.LATE: 30.0}


def test_job_record_latency_and_deadline(two_cpus, make_graph, make_workload, recorder, fixed_scheduler):
    graph = make_graph(["a", "b"], [(0, 1, 0.0)], deadline_us=25.0)
    rec = run_fixed(two_cpus, graph, {0: 0, 1: 0}, make_workload, recorder, fixed_scheduler)
    (job,) = rec.jobs
    assert (job.arrival_us, job.admitted_us, job.finish_us, job.latency_us) == (0.0, 0.0, 30.0, 30.0)
    assert job.deadline_us == 25.0 and job.missed_deadline and job.num_tasks == 2


def test_task_no_pe_can_run_is_rejected_before_the_run(two_cpus, make_graph, make_workload, fixed_scheduler):
    graph = make_graph(["a", "zz"], [(0, 1, 0.0)], name="radar")
    with pytest.raises(SocEmuError, match=r"radar.*t1.*zz"):
        simulate(two_cpus, make_workload(graph), fixed_scheduler({0: 0, 1: 0}), ONE_JOB)


def test_zero_time_tasks_and_empty_stop_are_handled(make_pe, make_platform, make_graph, make_workload, recorder, fixed_scheduler):
    platform = make_platform([make_pe(0, {"z": 0.0})])
    graph = make_graph(["z", "z", "z"], [(0, 1, 0.0), (1, 2, 0.0)])
    rec = run_fixed(platform, graph, {t: 0 for t in range(3)}, make_workload, recorder, fixed_scheduler)
    assert rec.makespan() == 0.0 and len(rec.completed()) == 3
    assert math.isclose(rec.end_us, 0.0)


def test_preloaded_fpga_regions_skip_the_first_reconfiguration(hetero_platform, make_graph, make_workload, recorder, fixed_scheduler):
    # Same chain as above, but the boot image holds vit in slot 0: only fft pays a reconfiguration.
    fpga = dataclasses.replace(hetero_platform.pes[3], preloaded_kernels=("vit",))
    platform = dataclasses.replace(hetero_platform, pes=(*hetero_platform.pes[:3], fpga))
    graph = make_graph(["fft", "vit", "vit", "fft"], [(0, 1, 0.0), (1, 2, 0.0), (2, 3, 0.0)])
    rec = run_fixed(platform, graph, {t: 3 for t in range(4)}, make_workload, recorder, fixed_scheduler)
    ordered = sorted(rec.tasks, key=lambda r: r.start_us)
    assert [r.overhead_us for r in ordered] == [5.0, 0.0, 0.0, 0.0]
    assert [r.slot for r in ordered] == [1, 0, 0, 1]
    assert rec.makespan() == 10.0 + 6.0 + 6.0 + 5.0


def test_preloaded_kernel_must_fit_and_be_supported(hetero_platform) -> None:
    fpga = hetero_platform.pes[3]
    for preload, message in ((("fft", "vit", "fft"), "3 preloaded kernels for 2 slots"),
                             (("mm",), "preloaded kernel 'mm' is not one this PE runs")):
        with pytest.raises(SocEmuError, match=message):
            dataclasses.replace(hetero_platform, pes=(*hetero_platform.pes[:3], dataclasses.replace(fpga, preloaded_kernels=preload)))
