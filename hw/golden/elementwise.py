"""Two-input element-wise operations: saturating add and multiply with shift-and-saturate requant."""

from __future__ import annotations

import numpy as np

from hw.golden.fixed import saturate


def add_saturate(a: np.ndarray, b: np.ndarray, *, bits: int) -> np.ndarray:
    """``saturate(a + b)``, exact model of :class:`hw.blocks.elementwise_add.ElementwiseAdd`."""
    return saturate(np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64), bits)


def mul_requant(a: np.ndarray, b: np.ndarray, *, bits: int, shift: int) -> np.ndarray:
    """``saturate((a * b + round) >> shift)`` with ``round = 2**(shift-1)`` (0 when ``shift == 0``):
    round-half-up requantisation; exact model of :class:`hw.blocks.elementwise_mul.ElementwiseMul`."""
    product = np.asarray(a, dtype=np.int64) * np.asarray(b, dtype=np.int64)
    rounding = (1 << (shift - 1)) if shift else 0
    return saturate((product + rounding) >> shift, bits)
