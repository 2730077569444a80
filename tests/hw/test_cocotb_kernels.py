"""Every kernel x variant under Verilator: bit-exact against the numpy golden model.

One simulator build per design; one simulation per design runs all inputs in sequence: seeded random
inputs, an extreme-value input (saturation paths), a run with random back-pressure on the off-chip
channels and random stalls on the streams, and a run that is reset mid-way and then rerun cleanly.
"""

from __future__ import annotations

import numpy as np
import pytest

from hw.api import plan
from hw.kernels import build_kernel
from hw.planner import VARIANTS
from hw.planner.traffic import offchip_words
from kernel_runs import Input, simulate_inputs

pytestmark = pytest.mark.hw

KERNELS = ("mlp", "ffn", "cnn", "attention")
DESIGNS = [(k, v) for k in KERNELS for v in VARIANTS]


@pytest.fixture(scope="module", params=DESIGNS, ids=[f"{k}-{v}" for k, v in DESIGNS])
def outcome(request):
    kernel, variant = request.param
    design = plan(kernel, variant)
    graph = build_kernel(kernel)
    runs = simulate_inputs(design, graph, {
        "seed1": Input(1), "seed2": Input(2), "extreme": Input(3, extreme=True), "stress": Input(4, stress=True),
        "reset": Input(5, reset_after=int(design.estimate["cycles"] // 2)),
    })
    return design, graph, runs


def test_outputs_bit_exact(outcome):
    design, graph, runs = outcome
    for label, (result, golden) in runs.items():
        expected = golden[graph.output]
        mismatches = int(np.sum(result.output != expected))
        assert mismatches == 0, f"{design.kernel}/{design.variant} {label}: {mismatches} of {expected.size} differ"


def test_extreme_inputs_saturate(outcome):
    design, graph, runs = outcome
    _, golden = runs["extreme"]
    # the extreme input really drives task outputs to both saturation limits (checked bit-exact above)
    outputs = [golden[task.name] for task in graph.tasks]
    assert any((out == 127).any() for out in outputs) and any((out == -128).any() for out in outputs)


def test_stress_costs_cycles_but_not_correctness(outcome):
    design, graph, runs = outcome
    calm, _ = runs["seed1"]
    stressed, _ = runs["stress"]
    assert stressed.cycles > calm.cycles


def test_reset_mid_run_then_clean_rerun(outcome):
    design, graph, runs = outcome
    result, _ = runs["reset"]
    assert result.cycles_before_reset is not None and 0 < result.cycles_before_reset < result.cycles
    calm, _ = runs["seed1"]
    assert result.cycles == calm.cycles  # the rerun after reset is a full, normal run


def test_offchip_traffic_matches_plan(outcome):
    design, graph, runs = outcome
    result, _ = runs["seed1"]
    assert result.counters == offchip_words(design)
    assert result.counters["wr_outputs"] == graph.tasks[-1].out_elems
    # spilled intermediates and dynamic weights are written off-chip exactly once
    off_chip = design.decisions["spilled"] + design.decisions["dynamic_weights"]
    assert result.counters["wr_spill"] == sum(graph.task(name).out_elems for name in off_chip)
    if not off_chip:
        assert result.counters["rd_spill"] == 0


def test_cost_model_tracks_measured_cycles(outcome):
    design, graph, runs = outcome
    result, _ = runs["seed1"]
    assert abs(result.cycles - design.estimate["cycles"]) <= 0.15 * result.cycles


def test_counters_account_for_every_mac(outcome):
    design, graph, runs = outcome
    result, _ = runs["seed1"]
    busy = sum(core["busy"] for core in result.cores)
    macs = sum(core.lanes * sum(i.m_bound * i.k_bound * i.n_tiles for i in core.program) for core in design.cores)
    assert busy == sum(sum(i.m_bound * i.k_bound * i.n_tiles for i in core.program) for core in design.cores)
    assert macs == graph.macs
    assert sum(core["reconf"] for core in result.cores) == sum(len(c.program) for c in design.cores)
