"""The CNN at an awkward size under Verilator: bit-exact against the numpy golden model.

``height=5 width=3 c_in=12``: non-square, odd maps (5x3 -> 10x6 -> 20x12 -> stride 2 -> 10x6), an input
channel count that is not a power of two (K = 108), and map rows (36, 48, 96, 192 elements) that do not
divide the power-of-two line-buffer rings, so ring addresses wrap in the middle of a row; the sequential
design also starts its second line buffer (conv4 reading the spilled conv3) at ring index 180. One
simulator build per variant; each runs two seeded inputs and one extreme-value input.
"""

from __future__ import annotations

import numpy as np
import pytest

from hw.api import plan
from hw.core.isa import XSource
from hw.kernels import build_kernel
from kernel_runs import Input, simulate_inputs

pytestmark = pytest.mark.hw

SIZES = {"height": 5, "width": 3, "c_in": 12}
VARIANTS = ("sequential", "dataflow")


@pytest.fixture(scope="module", params=VARIANTS)
def outcome(request):
    design = plan("cnn", request.param, sizes=SIZES)
    graph = build_kernel("cnn", SIZES)
    runs = simulate_inputs(design, graph, {"seed1": Input(1), "seed2": Input(2), "extreme": Input(4, extreme=True)})
    return design, graph, runs


def test_the_size_exercises_the_edge_cases(outcome):
    design, graph, _ = outcome
    assert [(t.conv.in_h, t.conv.in_w) for t in graph.tasks] == [(5, 3), (5, 3), (10, 6), (20, 12)]
    assert graph.tasks[0].k == 108 and graph.tasks[-1].m == 10 * 6
    ring_readers = [(core.ring_words, i) for core in design.cores for i in core.program
                    if i.x_src in (XSource.RING, XSource.LINEBUF)]
    assert len(ring_readers) == (2 if design.variant == "sequential" else 4)
    for ring_words, instr in ring_readers:       # a row straddles the ring's wrap-around
        assert ring_words % (instr.in_w * instr.in_c) != 0, instr.task
    if design.variant == "sequential":
        assert design.decisions["spilled"] == ["conv3"]
        assert design.cores[0].program[-1].r_base == 5 * 3 * 12
    else:
        assert design.decisions["mapping"].count("=rows=>") == 3


def test_outputs_bit_exact(outcome):
    design, graph, runs = outcome
    for label, (result, golden) in runs.items():
        expected = golden[graph.output]
        assert result.output.shape == expected.shape == (60, 16)
        mismatches = int(np.sum(result.output != expected))
        assert mismatches == 0, f"cnn/{design.variant} {label}: {mismatches} of {expected.size} differ"


def test_extreme_input_saturates_and_random_inputs_differ(outcome):
    design, graph, runs = outcome
    _, golden = runs["extreme"]
    outputs = [golden[task.name] for task in graph.tasks]
    assert any((out == 127).any() for out in outputs) and any((out == -128).any() for out in outputs)
    first, second = runs["seed1"][0].output, runs["seed2"][0].output
    assert not np.array_equal(first, second)


def test_offchip_traffic_of_the_odd_size(outcome):
    design, graph, runs = outcome
    result, _ = runs["seed1"]
    assert result.counters["wr_outputs"] == 60 * 16
    assert result.counters["rd_inputs"] == 5 * 3 * 12
    spilled = 20 * 12 * 16 if design.variant == "sequential" else 0
    assert result.counters["wr_spill"] == spilled and result.counters["rd_spill"] == spilled
    assert abs(result.cycles - design.estimate["cycles"]) <= 0.15 * result.cycles
