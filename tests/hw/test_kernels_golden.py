"""Kernel graphs and their integer golden models."""

from __future__ import annotations

import numpy as np
import pytest

from hw.errors import HwError
from hw.kernels import build_kernel
from hw.kernels.golden import random_operands, requantise, run_kernel


def test_requantise_shifts_floors_saturates_and_relus():
    acc = np.array([1000, -1000, 40000, -40000, -1, 255])
    assert requantise(acc, 4, relu=False).tolist() == [62, -63, 127, -128, -1, 15]
    assert requantise(acc, 4, relu=True).tolist() == [62, 0, 127, 0, 0, 15]


def test_mlp_golden_matches_a_direct_float_free_computation():
    graph = build_kernel("mlp")
    x, w = random_operands(graph, np.random.default_rng(0))
    tensors = run_kernel(graph, x, w)
    h = x
    for task, weight in zip(graph.tasks, ("w1", "w2", "w3")):
        acc = h @ w[weight]
        h = np.clip(acc >> task.shift, -128, 127)
        if task.relu:
            h = np.maximum(h, 0)
    assert np.array_equal(tensors["fc3"], h)
    assert tensors["fc3"].shape == (8, 32)


def test_mlp_hdv_shape_largest_intermediate_exceeds_default_budget():
    from hw.planner import Budget

    graph = build_kernel("mlp")
    sizes = {t.name: t.out_elems for t in graph.tasks[:-1]}
    assert max(sizes.values()) > Budget().buffer_bytes > min(sizes.values())


def test_random_operands_are_seeded_and_extreme_values_are_extreme():
    graph = build_kernel("mlp")
    a, _ = random_operands(graph, np.random.default_rng(7))
    b, _ = random_operands(graph, np.random.default_rng(7))
    assert np.array_equal(a, b)
    x, w = random_operands(graph, np.random.default_rng(7), extreme=True)
    assert set(np.unique(x)) <= {-128, -127, 0, 126, 127}


def test_kernel_size_errors():
    with pytest.raises(HwError, match="--size"):
        build_kernel("mlp", {"tokens": 0})
    with pytest.raises(HwError, match="--kernel"):
        build_kernel("nope")
