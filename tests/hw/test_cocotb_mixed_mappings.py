"""Mixed InTAR mappings under Verilator, lowered by hand so their datapaths are covered even where the
planner prefers another schedule at the default budget.

- CNN ``[conv1+conv2 @8] =rows=> [conv3+conv4 @8]`` with conv3 spilled: the second core's ring first
  holds the streamed conv2 map (line buffer from the stream) and then conv3's spilled map (line buffer
  filled by the X loader), so ring indices continue across the two sources.
- MLP ``[fc1+fc2 @8] =chunked=> [fc3 @8]``: a core that keeps h1 in its scratchpad and then streams h2
  into a partial-sum consumer.
- Attention at 16 tokens, ``[kt+v @16] | [q+s+o @16]``: ``s`` and ``o`` wait on the other core's
  semaphores for their dynamic weights while ``q`` runs in parallel (the planner now prefers
  ``[kt @16] | [v+q+s+o @16]`` there: a core reports retired instructions only when its pipelined
  datapath is quiet, so ``s`` would wait for ``v`` too).
"""

from __future__ import annotations

import numpy as np
import pytest

from hw.api import make_budget
from hw.core.isa import XSource
from hw.kernels import build_kernel
from hw.planner.cost import estimate
from hw.planner.lower import Group, Mapping, lower
from hw.planner.traffic import offchip_words
from kernel_runs import Input, simulate_inputs

pytestmark = pytest.mark.hw


def _hand_mapped(kernel: str, groups, cuts, spilled=(), sizes=None):
    graph = build_kernel(kernel, sizes or {})
    design = lower(graph, Mapping(tuple(Group(t, l) for t, l in groups), tuple(cuts), frozenset(spilled)),
                   make_budget(None, kernel), "intar")
    design.estimate = estimate(design)
    design.decisions.update(spilled=sorted(spilled), sizes=dict(graph.sizes))
    return design, graph


CASES = {
    "cnn": lambda: _hand_mapped("cnn", [(("conv1", "conv2"), 8), (("conv3", "conv4"), 8)], ["rows"], {"conv3"}),
    "mlp": lambda: _hand_mapped("mlp", [(("fc1", "fc2"), 8), (("fc3",), 8)], ["chunked"]),
    "attention": lambda: _hand_mapped("attention", [(("kt", "v"), 16), (("q", "s", "o"), 16)], ["none"],
                                      sizes={"seq": 16}),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def outcome(request):
    design, graph = CASES[request.param]()
    runs = simulate_inputs(design, graph, {"seed1": Input(1), "stress": Input(2, stress=True)})
    results = [result for result, _ in runs.values()]
    goldens = [tensors[graph.output] for _, tensors in runs.values()]
    return design, graph, results, goldens


def test_mixed_mapping_is_what_the_case_says(outcome):
    design, graph, _, _ = outcome
    assert len(design.cores) == 2
    second = [i.x_src for i in design.cores[1].program]
    if graph.name == "cnn":
        assert second == [XSource.RING, XSource.LINEBUF]
        conv3, conv4 = design.cores[1].program
        assert conv4.r_base == conv3.r_end == 8 * 8 * 16      # ring indices continue after the stream
    elif graph.name == "mlp":
        assert [i.x_src for i in design.cores[0].program] == [XSource.OFFCHIP, XSource.SPAD]
    else:
        assert design.decisions["mapping"] == "[kt+v @16] | [q+s+o @16]"
        assert [(i.task, i.w_core, i.w_count) for i in design.cores[1].program if i.w_dep] == [("s", 0, 1), ("o", 0, 2)]


def test_mixed_mapping_outputs_bit_exact(outcome):
    _, _, results, goldens = outcome
    for result, golden in zip(results, goldens):
        assert int(np.sum(result.output != golden)) == 0


def test_mixed_mapping_traffic_and_estimate(outcome):
    design, _, results, _ = outcome
    assert results[0].counters == offchip_words(design)
    assert abs(results[0].cycles - design.estimate["cycles"]) <= 0.2 * results[0].cycles
