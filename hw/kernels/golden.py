"""Bit-exact numpy integer models of the kernels (the reference every hardware variant must match)."""

from __future__ import annotations

import numpy as np

from hw.golden.activations import silu
from hw.golden.elementwise import mul_requant
from hw.golden.pooling import upsample2x
from hw.golden.softmax import softmax_rows
from hw.kernels.graph import Conv, GemmTask, KernelGraph

INT8_MIN, INT8_MAX = -128, 127


def requantise(acc: np.ndarray, shift: int, relu: bool) -> np.ndarray:
    """Arithmetic right shift by ``shift``, saturate to int8, optional ReLU (what the MAC core does)."""
    values = np.clip(np.asarray(acc, dtype=np.int64) >> shift, INT8_MIN, INT8_MAX)
    if relu:
        values = np.maximum(values, 0)
    return values.astype(np.int64)


def im2col(x: np.ndarray, conv: Conv) -> np.ndarray:
    """``(pixels, C)`` map -> ``(output pixels, 9*C)`` operand rows: 2x nearest upsampling if asked, zero
    padding of one pixel, 3x3 windows at ``stride``; columns ordered tap-major (``ky, kx``), then channel."""
    fmap = np.asarray(x, dtype=np.int64).reshape(conv.in_h, conv.in_w, conv.in_c)
    if conv.up == 2:
        fmap = upsample2x(fmap)
    padded = np.pad(fmap, ((1, 1), (1, 1), (0, 0)))
    s = conv.stride
    taps = [padded[ky: ky + s * (conv.out_h - 1) + 1: s, kx: kx + s * (conv.out_w - 1) + 1: s, :]
            for ky in range(3) for kx in range(3)]
    return np.concatenate(taps, axis=2).reshape(conv.out_h * conv.out_w, 9 * conv.in_c)


def gemm_task(task: GemmTask, x: np.ndarray, weights: dict[str, np.ndarray]) -> np.ndarray:
    """One task: 32-bit accumulation of int8 products (never overflows at our sizes), requant, and for
    gated tasks the SiLU-times-gate epilogue, for softmax tasks the row softmax over the first
    ``softmax_valid`` columns (exact models of the SFU blocks). ``weights`` maps W operand names to
    arrays (static weights and dynamic ones alike)."""
    if task.conv is not None:
        x = im2col(x, task.conv)

    def project(name: str) -> np.ndarray:
        acc = x.astype(np.int64) @ np.asarray(weights[name], dtype=np.int64)
        assert np.all(np.abs(acc) < 2**31), "accumulator would overflow 32 bits"
        return requantise(acc, task.shift, task.relu)
    if task.softmax:
        # padded columns (past ``softmax_valid``) are masked: out of the row, probability 0
        scores = project(task.w)
        valid = task.softmax_valid or task.n
        probs = np.zeros_like(scores)
        probs[:, :valid] = softmax_rows(scores[:, :valid], bits=8, in_frac_bits=task.softmax_frac_bits)
        return probs
    if not task.glu:
        return project(task.w)
    up, gate = project(task.w), project(task.w_gate)
    return mul_requant(silu(up, bits=8, frac_bits=task.frac_bits), gate, bits=8, shift=task.frac_bits)


def run_kernel(graph: KernelGraph, x: np.ndarray, weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every tensor of the kernel (input, each task's output) for input ``x`` and ``weights``."""
    tensors = {graph.input: np.asarray(x, dtype=np.int64)}
    operands = dict(weights)
    if graph.input_t is not None:
        operands[graph.input_t] = tensors[graph.input].T
    for task in graph.tasks:
        x_operand = tensors[task.x] if task.x in tensors else np.asarray(weights[task.x], dtype=np.int64)
        tensors[task.name] = gemm_task(task, x_operand, operands)
        operands.setdefault(task.name, tensors[task.name])
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
