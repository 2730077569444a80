"""Feature set 2 of the featurizer on a hand-made platform and job: FPGA region loaded or not, launch
overhead, contention, kernel demand, and a PE that fails and is repaired; feature set 1 (the shipped
checkpoint's) is its prefix."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.checkpoint import load_checkpoint
from agents.features import FEATURE_SETS, PAIR_COL, PE_COL, DecisionRule, Featurizer, log_time
from agents.policy import Policy
from soc_emu.engine.simulation import RunOptions, Simulation
from soc_emu.engine.view import Assignment, Binding
from soc_emu.model import Interconnect, Link, Platform, ProcessingElement, Task, TaskGraph
from soc_emu.model.workload import ArrivalProcess, JobMix, Workload

CPU, FPGA, GPU = 0, 1, 2


def _platform() -> Platform:
    """A CPU, an FPGA with two regions (kernel "a" loaded at boot, 100 us to load another), a GPU with a
    7 us launch overhead that runs only "a"."""
    pes = (
        ProcessingElement(CPU, "C", "cpu", "c", 1, {"a": 50.0, "b": 40.0}),
        ProcessingElement(FPGA, "F", "fpga", "f", 2, {"a": 10.0, "b": 8.0}, reconfig_time_us=100.0, preloaded_kernels=("a",)),
        ProcessingElement(GPU, "G", "gpu", "g", 1, {"a": 5.0}, launch_overhead_us=7.0),
    )
    return Platform("hand", pes, Interconnect(default=Link(bandwidth=1000.0)))


def _simulation() -> Simulation:
    graph = TaskGraph("two", (Task(0, "t_a", "a"), Task(1, "t_b", "b")), ())
    workload = Workload("two_jobs", JobMix((graph,), (1.0,)), ArrivalProcess(kind="trace", trace_us=(0.0, 2000.0)))
    return Simulation(_platform(), workload, RunOptions(seed=1, num_jobs=2), binding=Binding.ON_READY)


def _pairs(obs, kernel_task: int) -> dict[int, np.ndarray]:  # type: ignore[no-untyped-def]
    """PE -> pair features of the candidate task ``kernel_task`` (0: kernel "a", 1: kernel "b")."""
    (k,) = [i for i, row in enumerate(obs.candidates) if obs.refs[int(row)].task == kernel_task]
    return {int(pe): x for pe, x in zip(obs.pair_pes[k], obs.pair_x[k])}


def test_pair_features_by_hand() -> None:
    sim = _simulation()
    view = sim.next_decision()
    obs = Featurizer(_platform(), DecisionRule(pe_slack=100.0), pair_features=True).observe(view)
    a, b = _pairs(obs, 0), _pairs(obs, 1)
    assert sorted(a) == [CPU, FPGA, GPU] and sorted(b) == [CPU, FPGA]
    col = PAIR_COL
    # Kernel "a" is loaded in a region: no reconfiguration; "b" is not: 100 us to load it.
    assert a[FPGA][col["kernel_loaded"]] == 1.0 and a[FPGA][col["reconfig_cost"]] == 0.0
    assert b[FPGA][col["kernel_loaded"]] == 0.0 and b[FPGA][col["reconfig_cost"]] == pytest.approx(log_time(100.0))
    assert b[FPGA][col["slot_time"]] == pytest.approx(log_time(108.0))  # task_cost: 8 + reconfiguration
    assert a[FPGA][col["slot_time"]] == pytest.approx(log_time(10.0))
    # Launch overhead only on the GPU, in its slot time too.
    assert a[GPU][col["launch_overhead"]] == pytest.approx(log_time(7.0)) and a[CPU][col["launch_overhead"]] == 0.0
    assert a[GPU][col["slot_time"]] == pytest.approx(log_time(12.0))
    # Contention: "a" finishes first on the FPGA (10 us), "b" on the CPU (40 < 108): one task per PE,
    # per slot: 1/2 on the FPGA, 1/1 on the CPU, none on the GPU.
    assert a[FPGA][col["contention"]] == pytest.approx(np.log1p(0.5))
    assert a[CPU][col["contention"]] == pytest.approx(np.log1p(1.0)) and a[GPU][col["contention"]] == 0.0
    # Demand on the fabric: one unstarted task per kernel; the loaded kernel "a" has one.
    assert b[FPGA][col["kernel_demand"]] == pytest.approx(np.log1p(1.0))
    assert b[FPGA][col["loaded_demand"]] == pytest.approx(np.log1p(1.0))
    assert b[CPU][col["kernel_demand"]] == 0.0 and b[CPU][col["loaded_demand"]] == 0.0
    assert all(x[col["queue_length"]] == 0.0 and x[col["until_free"]] == 0.0 for x in (*a.values(), *b.values()))


def test_a_failed_pe_and_its_repair_by_hand() -> None:
    sim = _simulation()
    featurizer = Featurizer(_platform(), DecisionRule(pe_slack=100.0), pair_features=True)
    view = sim.next_decision()
    up_pes = view.pes
    view.pes = [dataclasses.replace(s, down=True) if i == GPU else s for i, s in enumerate(up_pes)]  # the GPU fails
    obs = featurizer.observe(view)
    assert obs.pes[GPU, PE_COL["down"]] == 1.0 and obs.pes[CPU, PE_COL["down"]] == 0.0
    assert GPU not in _pairs(obs, 0)  # a down PE is never offered
    assert obs.pes[GPU, PE_COL["failure_rate"]] == pytest.approx(np.log1p(1.0))  # 1 failure in the first ms
    assert obs.pes[CPU, PE_COL["failure_rate"]] == 0.0
    view.pes = up_pes
    obs = featurizer.observe(view)  # the GPU is up again: seen repaired at time 0
    assert obs.pes[GPU, PE_COL["since_repair"]] == 0.0 and obs.pes[GPU, PE_COL["down"]] == 0.0
    while view.now < 2000.0:  # every task to the CPU until the second job arrives
        sim.submit([Assignment(view.ready[0], CPU, 0.0)])
        view = sim.next_decision()
    obs = featurizer.observe(view)
    assert view.now == 2000.0
    assert obs.pes[GPU, PE_COL["since_repair"]] == pytest.approx(log_time(2000.0))
    assert obs.pes[GPU, PE_COL["failure_rate"]] == pytest.approx(np.log1p(1.0 / 2.0))  # 1 failure in 2 ms
    assert obs.pes[CPU, PE_COL["failure_rate"]] == 0.0
    assert obs.pes[GPU, PE_COL["reconfig_time"]] == 0.0 and obs.pes[FPGA, PE_COL["reconfig_time"]] == pytest.approx(log_time(100.0))


def test_feature_set_1_is_the_prefix_the_shipped_checkpoint_reads() -> None:
    sim = _simulation()
    view = sim.next_decision()
    new = Featurizer(_platform(), DecisionRule(pe_slack=100.0), pair_features=True).observe(view)
    old = Featurizer(_platform(), DecisionRule(pe_slack=100.0), pair_features=True, feature_set=1).observe(view)
    one = FEATURE_SETS[1]
    assert old.pes.shape[1] == one.pe_dim and old.pair_x[0].shape[1] == one.pair_dim
    np.testing.assert_array_equal(old.pes, new.pes[:, : one.pe_dim])
    np.testing.assert_array_equal(old.pair_x[0], new.pair_x[0][:, : one.pair_dim])
    shipped = load_checkpoint()
    assert shipped.net.config.feature_set == 1
    featurizer = Featurizer(_platform())
    Policy(shipped.net, featurizer)
    assert featurizer.feature_set == 1
