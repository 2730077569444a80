"""Any shape under Verilator: odd and random sizes, padded by the planner, bit-exact; cost model within 15%.

Three sets of designs, one Verilator build each:

- ``ODD``: every kernel at a shape the generator used to refuse, with primes, 1 and sizes above the
  defaults (an MLP hidden layer of 200 at 16 lanes, a 6x5x3 CNN input, attention over 7 tokens whose
  padded keys the row softmax must mask), over the three variants;
- ``RANDOM``: per kernel, sizes and a variant drawn by one seeded numpy Generator
  (:func:`hw.kernels.random_sizes`), so the cost model is checked at shapes nobody picked;
- ``SHARED_CHANNEL``: a two-core FFN whose second core prefetches all its weights while the first
  streams, so the cores share the read channel (the cost model missed this by 24% before it followed
  the channel's round-robin; ``test_planner_cost.py`` derives the same estimate by hand).

Each design runs a seeded random input and an extreme-value one against the golden model of the
unpadded problem; the off-chip counters must equal what the (padded) programs move, and the planner's
estimate must be within 15% of the measured cycles. ``benchmarks/hw_cost_model.py`` measures a larger
random set.
"""

from __future__ import annotations

import numpy as np
import pytest

from hw.api import plan
from hw.errors import HwError
from hw.kernels import build_kernel, random_sizes
from hw.planner import VARIANTS
from hw.planner.traffic import offchip_words
from kernel_runs import Input, simulate_inputs

pytestmark = pytest.mark.hw

ODD = [
    ("mlp", "sequential", {"tokens": 3, "d_in": 7, "d_h1": 200, "d_h2": 13, "d_out": 1}),
    ("ffn", "dataflow", {"tokens": 1, "d_model": 37, "d_hidden": 11}),
    ("cnn", "sequential", {"height": 6, "width": 5, "c_in": 3, "channels": 5}),
    ("attention", "intar", {"seq": 7, "d_model": 5, "d_head": 131}),
]


def _random_designs(seed: int = 7) -> list[tuple[str, str, dict[str, int]]]:
    """One plannable (kernel, variant, sizes) per kernel, drawn from one seeded Generator (small sizes,
    so that the simulations stay short)."""
    rng = np.random.default_rng(seed)
    designs = []
    for kernel in ("mlp", "ffn", "cnn", "attention"):
        while True:
            sizes = random_sizes(kernel, rng, low=0.125, high=0.75 if kernel == "cnn" else 1.25)
            variant = str(rng.choice(VARIANTS))
            try:
                plan(kernel, variant, sizes=sizes)
            except HwError:
                continue                # e.g. a dataflow CNN whose line buffers exceed the budget
            designs.append((kernel, variant, sizes))
            break
    return designs


SHARED_CHANNEL = [("ffn", "dataflow", {"tokens": 2, "d_model": 17, "d_hidden": 135})]

DESIGNS = [("odd", *d) for d in ODD] + [("random", *d) for d in _random_designs()] + \
    [("shared", *d) for d in SHARED_CHANNEL]


@pytest.fixture(scope="module", params=DESIGNS, ids=[f"{s}-{k}-{v}" for s, k, v, _ in DESIGNS])
def outcome(request):
    _, kernel, variant, sizes = request.param
    design = plan(kernel, variant, sizes=sizes)
    graph = build_kernel(kernel, sizes)
    runs = simulate_inputs(design, graph, {"seed1": Input(1), "extreme": Input(2, extreme=True)})
    return design, graph, runs


def test_outputs_bit_exact_against_the_unpadded_golden(outcome):
    design, graph, runs = outcome
    for label, (result, golden) in runs.items():
        expected = golden[graph.output]
        assert result.output.shape == expected.shape
        mismatches = int(np.sum(result.output != expected))
        assert mismatches == 0, f"{design.kernel}/{design.variant} {design.decisions['sizes']} {label}: " \
                                f"{mismatches} of {expected.size} differ"


def test_offchip_traffic_is_what_the_padded_programs_move(outcome):
    design, graph, runs = outcome
    result, _ = runs["seed1"]
    assert result.counters == offchip_words(design)
    out = design.padding.get(graph.output)
    assert result.counters["wr_outputs"] == (np.prod(out.padded_shape) if out else graph.tasks[-1].out_elems)


def test_cost_model_within_15_percent_at_this_shape(outcome):
    design, _, runs = outcome
    result, _ = runs["seed1"]
    error = (design.estimate["cycles"] - result.cycles) / result.cycles
    assert abs(error) <= 0.15, f"{design.decisions['sizes']} {design.decisions['mapping']}: " \
                               f"estimate {design.estimate['cycles']:.0f}, measured {result.cycles} ({error:+.1%})"
