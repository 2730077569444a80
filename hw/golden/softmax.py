"""Integer softmax over rows, exact model of :class:`hw.blocks.softmax.Softmax`.

Fixed-point contract
--------------------
- Input elements ``x`` (signed ``bits``) represent ``x / 2**in_frac_bits``.
- ``d = min(rowmax - x, len(table) - 1)`` and ``e = table[d]`` where
  ``table[d] = round(exp(-d / 2**in_frac_bits) * 2**15)`` (Q.15, ``table[0] = 32768``), cut after its first
  zero entry (or at ``2**bits`` entries).
- ``sum = sum(e over the row)``; reciprocal ``recip = 2**K // sum`` with
  ``K = (bits - 1) + 16 + ceil_log2(row_len)``.
- Output ``p = min((e * recip) >> (K - (bits - 1)), 2**(bits-1) - 1)``: probabilities in Q.(bits-1)
  (int8: 127 ~ 0.992, int16: 32767), never negative.
"""

from __future__ import annotations

import math

import numpy as np

EXP_FRAC_BITS = 15


def exp_table(bits: int, in_frac_bits: int) -> tuple[int, ...]:
    """``round(exp(-d / 2**in_frac_bits) * 2**15)`` for ``d = 0, 1, ...`` up to the first 0 entry."""
    entries = []
    for d in range(1 << bits):
        value = round(math.exp(-d / (1 << in_frac_bits)) * (1 << EXP_FRAC_BITS))
        entries.append(value)
        if value == 0:
            break
    return tuple(entries)


def reciprocal_bits(bits: int, row_len: int) -> int:
    """``K``: the reciprocal is ``2**K // sum``."""
    return (bits - 1) + 16 + max(0, (row_len - 1).bit_length())


def softmax_rows(x: np.ndarray, *, bits: int, in_frac_bits: int) -> np.ndarray:
    """Row-wise integer softmax of a ``(rows, row_len)`` array; returns int64 probabilities in Q.(bits-1)."""
    x = np.asarray(x, dtype=np.int64)
    table = np.asarray(exp_table(bits, in_frac_bits), dtype=np.int64)
    row_len = x.shape[-1]
    k = reciprocal_bits(bits, row_len)
    d = np.minimum(x.max(axis=-1, keepdims=True) - x, len(table) - 1)
    e = table[d]
    total = e.sum(axis=-1, keepdims=True)
    recip = np.array([[(1 << k) // int(s)] for s in total.reshape(-1)], dtype=object).reshape(total.shape)
    p = (e.astype(object) * recip) >> (k - (bits - 1))
    return np.minimum(p, (1 << (bits - 1)) - 1).astype(np.int64)
