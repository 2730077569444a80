"""Bit-exact numpy integer models of the kernels (the reference every hardware variant must match)."""

from __future__ import annotations

import numpy as np

from hw.golden.activations import silu
from hw.golden.elementwise import mul_requant
from hw.kernels.graph import GemmTask, KernelGraph

INT8_MIN, INT8_MAX = -128, 127


def requantise(acc: np.ndarray, shift: int, relu: bool) -> np.ndarray:
    """Arithmetic right shift by ``shift``, saturate to int8, optional ReLU (what the MAC core does)."""
    values = np.clip(np.asarray(acc, dtype=np.int64) >> shift, INT8_MIN, INT8_MAX)
    if relu:
        values = np.maximum(values, 0)
    return values.astype(np.int64)


def gemm_task(task: GemmTask, x: np.ndarray, weights: dict[str, np.ndarray]) -> np.ndarray:
    """One task: 32-bit accumulation of int8 products (never overflows at our sizes), requant, and for
    gated tasks the SiLU-times-gate epilogue (exact models of the SFU blocks)."""
    def project(name: str) -> np.ndarray:
        acc = x.astype(np.int64) @ np.asarray(weights[name], dtype=np.int64)
        assert np.all(np.abs(acc) < 2**31), "accumulator would overflow 32 bits"
        return requantise(acc, task.shift, task.relu)
    if not task.glu:
        return project(task.w)
    up, gate = project(task.w), project(task.w_gate)
    return mul_requant(silu(up, bits=8, frac_bits=task.frac_bits), gate, bits=8, shift=task.frac_bits)


def run_kernel(graph: KernelGraph, x: np.ndarray, weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every tensor of the kernel (input, each task's output) for input ``x`` and ``weights``."""
    tensors = {graph.input: np.asarray(x, dtype=np.int64)}
    for task in graph.tasks:
        tensors[task.name] = gemm_task(task, tensors[task.x], weights)
    return tensors


def random_operands(graph: KernelGraph, rng: np.random.Generator, *, extreme: bool = False
                    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Seeded random int8 input and weights; ``extreme`` draws only from {-128, -127, 0, 126, 127}
    so that accumulators hit large magnitudes and requantisation saturates."""
    def draw(shape: tuple[int, int]) -> np.ndarray:
        if extreme:
            return rng.choice(np.array([-128, -127, 0, 126, 127]), size=shape).astype(np.int64)
        return rng.integers(INT8_MIN, INT8_MAX + 1, size=shape, dtype=np.int64)
    x = draw(graph.input_shape)
    weights = {name: draw(shape) for name, shape in graph.weights.items()}
    return x, weights
