"""Attention with a tight activation budget under Verilator: Q and the softmax output are spilled.

The default attention designs keep Q and A on chip; here a 512-byte budget forces the sequential design to
spill both, which exercises the pixel-major off-chip operand loader (``s`` re-reads each spilled Q row
per N tile) and a softmax result that leaves through the off-chip writer. One build, a few runs.
"""

from __future__ import annotations

import numpy as np
import pytest

from hw.api import plan
from hw.core.isa import Dest, XSource
from hw.kernels import build_kernel
from hw.planner.traffic import offchip_words
from kernel_runs import Input, simulate_inputs

pytestmark = pytest.mark.hw

BUDGET = {"buffer_bytes": 512}


@pytest.fixture(scope="module")
def outcome():
    design = plan("attention", "sequential", budget=BUDGET)
    graph = build_kernel("attention")
    runs = simulate_inputs(design, graph, {"seed1": Input(1), "seed2": Input(2), "stress": Input(3, stress=True)})
    results = [result for result, _ in runs.values()]
    goldens = [tensors[graph.output] for _, tensors in runs.values()]
    return design, graph, results, goldens


def test_the_tight_budget_spills_q_and_the_scores(outcome):
    design, _, _, _ = outcome
    assert design.decisions["spilled"] == ["q", "s"]
    by_task = {i.task: i for i in design.cores[0].program}
    assert by_task["s"].x_src == XSource.OFFCHIP and by_task["s"].m_outer and by_task["s"].dst == Dest.OFFCHIP
    assert by_task["o"].x_src == XSource.OFFCHIP


def test_outputs_bit_exact_with_and_without_stress(outcome):
    _, _, results, goldens = outcome
    for result, golden in zip(results, goldens):
        assert int(np.sum(result.output != golden)) == 0
    assert results[2].cycles > results[0].cycles


def test_spills_travel_off_chip_exactly_as_planned(outcome):
    design, graph, results, _ = outcome
    assert results[0].counters == offchip_words(design)
    spilled_words = sum(graph.task(n).out_elems for n in ("q", "s", "kt", "v"))
    assert results[0].counters["wr_spill"] == spilled_words
    assert abs(results[0].cycles - design.estimate["cycles"]) <= 0.15 * results[0].cycles
