"""Signed fixed-point helpers used by the golden models."""

from __future__ import annotations

import numpy as np


def element_range(bits: int) -> tuple[int, int]:
    """Smallest and largest value of a signed ``bits``-bit integer."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def saturate(values: np.ndarray, bits: int) -> np.ndarray:
    """Clamp to the signed ``bits``-bit range, as ``int64``."""
    low, high = element_range(bits)
    return np.clip(np.asarray(values, dtype=np.int64), low, high)


def wrap(values: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement wrap to ``bits`` bits (what a truncating register does), as ``int64``."""
    values = np.asarray(values, dtype=np.int64) & ((1 << bits) - 1)
    return np.where(values >= 1 << (bits - 1), values - (1 << bits), values)
