"""Shared driver of the Verilator kernel tests: simulate one design on labelled seeded inputs.

Each input is drawn with :func:`hw.kernels.golden.random_operands`; all of them run in one simulation
(one build per design) and come back with the golden model's tensors for the same operands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hw.designs.simulate import RunResult, RunSpec, simulate
from hw.kernels.golden import random_operands, run_kernel
from hw.kernels.graph import KernelGraph
from hw.planner.plan import DesignPlan


@dataclass(frozen=True)
class Input:
    """A seeded random input; ``extreme`` draws saturating values, ``stress`` adds random stalls, and
    ``reset_after`` resets the design that many cycles into the run before running it again."""

    seed: int
    extreme: bool = False
    stress: bool = False
    reset_after: int | None = None


def simulate_inputs(design: DesignPlan, graph: KernelGraph, inputs: dict[str, Input]
                    ) -> dict[str, tuple[RunResult, dict[str, np.ndarray]]]:
    """``label -> (simulation result, golden tensors)`` for every labelled input."""
    specs, goldens = [], []
    for spec in inputs.values():
        x, w = random_operands(graph, np.random.default_rng(spec.seed), extreme=spec.extreme)
        specs.append(RunSpec(x, w, stress=spec.stress, reset_after=spec.reset_after))
        goldens.append(run_kernel(graph, x, w))
    results = simulate(design, specs, output_shape=goldens[0][graph.output].shape)
    return dict(zip(inputs, zip(results, goldens)))
