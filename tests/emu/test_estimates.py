"""The one home of scheduling estimates (soc_emu.schedulers.estimates): w_bar, c_bar, upward ranks,
transfer and data-ready times, slot costs, against hand computation and the paper."""

from __future__ import annotations

import math

import numpy as np
import pytest

from soc_emu.engine.simulation import RunOptions, Simulation
from soc_emu.model import Edge, Interconnect, Link, Platform, ProcessingElement, Task, TaskGraph
from soc_emu.runner import ArrivalOverrides, apply_overrides, resolve_scenario
from soc_emu.schedulers import make_scheduler
from soc_emu.schedulers.estimates import LinkArrays, MeanCosts, data_ready_times, task_cost, upward_ranks
from soc_emu.schedulers.heft_plan import CostModel
from tests.emu.test_heft_plan import PAPER_RANKS, topcuoglu_graph, topcuoglu_platform


def _two_cluster_platform() -> Platform:
    """Three PEs, two clusters with different links (so mean(1/B) != 1/mean(B)); PE 2 is slower and has a
    launch overhead."""
    pes = (
        ProcessingElement(0, "A0", "cpu", "x", 1, {"k": 4.0, "m": 2.0}),
        ProcessingElement(1, "A1", "cpu", "x", 1, {"k": 6.0}),
        ProcessingElement(2, "G", "gpu", "y", 1, {"k": 1.0, "m": 3.0}, launch_overhead_us=1.0),
    )
    inter = Interconnect(default=Link(bandwidth=2.0, latency_us=3.0), cluster_links={("x", "x"): Link(bandwidth=8.0, latency_us=1.0)})
    return Platform("two-cluster", pes, inter)


def test_upward_ranks_are_the_papers() -> None:
    ranks = MeanCosts(topcuoglu_platform()).ranks(topcuoglu_graph())
    for task, rank in PAPER_RANKS.items():
        assert ranks[task - 1] == pytest.approx(rank, abs=1e-3)


def test_mean_costs_by_hand() -> None:
    means = MeanCosts(_two_cluster_platform())
    # Distinct ordered pairs: (0,1),(1,0) on x-x (1 us, 8/us); four x-y pairs (3 us, 2/us).
    assert means.mean_latency_us == pytest.approx((2 * 1.0 + 4 * 3.0) / 6)
    assert means.mean_bandwidth == pytest.approx((2 * 8.0 + 4 * 2.0) / 6)
    assert means.mean_comm(12.0) == pytest.approx(14 / 6 + 12.0 / 4.0)
    assert means.mean_comm(0.0) == 0.0
    assert means.mean_exec("k") == pytest.approx((4.0 + 6.0 + 2.0) / 3)  # launch overhead included
    assert means.mean_exec("m") == pytest.approx((2.0 + 4.0) / 2)  # only the PEs that run it
    graph = TaskGraph("g", (Task(0, "a", "k"), Task(1, "b", "m")), (Edge(0, 1, 12.0),))
    w_bar, ranks = means.graph(graph)
    assert ranks == pytest.approx([4.0 + (14 / 6 + 3.0) + 3.0, 3.0])
    assert ranks == upward_ranks(graph, w_bar, means.mean_comm)
    # HEFT's cost model ranks with exactly these estimates.
    assert list(CostModel(_two_cluster_platform()).info(graph).ranks) == ranks


def test_exact_mean_transfer_differs_from_heft_c_bar_by_hand() -> None:
    """The platform's exact mean transfer (mean of 1/B, used by the random DAG generator for its CCR) and
    HEFT's c_bar (1/mean B) on the same uneven links."""
    platform = _two_cluster_platform()
    latency, per_unit = platform.mean_transfer_terms()
    assert latency == pytest.approx((2 * 1.0 + 4 * 3.0) / 6)
    assert per_unit == pytest.approx((2 / 8.0 + 4 / 2.0) / 6)
    pairs = [(a, b) for a in range(3) for b in range(3) if a != b]
    exact = sum(platform.transfer_time(a, b, 12.0) for a, b in pairs) / len(pairs)
    assert latency + 12.0 * per_unit == pytest.approx(exact)
    assert MeanCosts(platform).mean_comm(12.0) < exact  # 1/mean(B) < mean(1/B)


def test_one_pe_has_no_communication() -> None:
    pe = ProcessingElement(0, "P", "cpu", "c", 1, {"k": 1.0})
    assert MeanCosts(Platform("one", (pe,), Interconnect(default=Link(bandwidth=1.0)))).mean_comm(100.0) == 0.0


def test_task_cost_counts_launch_and_reconfiguration() -> None:
    fpga = ProcessingElement(0, "F", "fpga", "f", 2, {"k": 5.0}, launch_overhead_us=0.5, reconfig_time_us=20.0)
    assert task_cost(fpga, "k", ["k", None]) == 5.5
    assert task_cost(fpga, "k", [None, "j"]) == 25.5
    assert task_cost(fpga, "nope") == math.inf


def test_data_ready_row_equals_the_per_pe_estimate_in_a_loaded_system() -> None:
    platform, workload = resolve_scenario("hetero", "ds3_mix")
    workload = apply_overrides(workload, ArrivalOverrides(rate_jobs_per_ms=80.0))
    sim = Simulation(platform, workload, RunOptions(seed=4, num_jobs=40))
    sched = make_scheduler("etf")
    sched.reset(platform, sim.scheduler_rng())
    links = LinkArrays(platform)
    every = list(range(len(platform.pes)))
    checked = 0
    view = sim.next_decision()
    while view is not None:
        for ref in view.ready:
            row = links.data_ready_row(view, ref)
            assert row.tolist() == data_ready_times(view, ref, every)
            checked += 1
        sim.submit(sched.decide(view))
        view = sim.next_decision()
    assert checked > 100
    np.testing.assert_array_equal(links.latency[0, 0], platform.link(0, 0).latency_us)
