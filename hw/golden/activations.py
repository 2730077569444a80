"""ReLU and the piecewise-linear (PWL) GeLU / SiLU: tables and exact integer models.

PWL format
----------
Elements are signed ``bits``-bit integers ``x`` representing ``x / 2**frac_bits``; outputs use the same
scale. A :class:`PwlTable` has ``n`` integer thresholds ``t[0] < ... < t[n-1]`` and ``n + 1`` segments.
Segment ``s`` is the number of thresholds ``<= x``; its output is::

    y = saturate((slope[s] * x + offset[s]) >> SLOPE_FRAC_BITS)

with an arithmetic (floor) shift. ``slope`` is the real slope in Q.12 (``round(slope * 2**12)``), and
``offset`` is the real intercept times ``2**(frac_bits + 12)``, rounded, plus ``2**11`` so the shift rounds
to nearest. Interior segments interpolate the exact function linearly between consecutive breakpoints;
left of the first breakpoint the output is 0, right of the last it is ``x`` (both functions approach
these asymptotes). Breakpoints in real units:

- GeLU (``x * Phi(x)``): -4, -3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 4.
- SiLU (``x * sigmoid(x)``): -8, -6, -4, -3, -2, -1, -0.5, 0, 0.5, 1, 2, 3, 4, 6, 8.

Thresholds are ``round(breakpoint * 2**frac_bits)``; a breakpoint outside the element range makes its
segment unreachable but is kept, so the table shape depends only on the function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from hw.golden.fixed import saturate

SLOPE_FRAC_BITS = 12

GELU_BREAKPOINTS = (-4.0, -3.0, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
SILU_BREAKPOINTS = (-8.0, -6.0, -4.0, -3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)


@dataclass(frozen=True)
class PwlTable:
    """Integer PWL table (see module docstring): thresholds, per-segment slopes and offsets."""

    thresholds: tuple[int, ...]
    slopes: tuple[int, ...]
    offsets: tuple[int, ...]


def _gelu(x: float) -> float:
    return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))


def _silu(x: float) -> float:
    return x / (1.0 + math.exp(-x))


def build_pwl_table(function: Callable[[float], float], breakpoints: tuple[float, ...],
                    frac_bits: int) -> PwlTable:
    """Quantise the PWL interpolation of ``function`` at ``breakpoints`` for inputs in Q``frac_bits``."""
    one = 1 << SLOPE_FRAC_BITS
    half = 1 << (SLOPE_FRAC_BITS - 1)
    slopes = [0]
    offsets = [half]
    for a, b in zip(breakpoints, breakpoints[1:]):
        slope = (function(b) - function(a)) / (b - a)
        intercept = function(a) - slope * a
        slopes.append(round(slope * one))
        offsets.append(round(intercept * (1 << frac_bits) * one) + half)
    slopes.append(one)
    offsets.append(half)
    thresholds = tuple(round(p * (1 << frac_bits)) for p in breakpoints)
    return PwlTable(thresholds, tuple(slopes), tuple(offsets))


def gelu_table(frac_bits: int) -> PwlTable:
    """PWL GeLU table for inputs and outputs in Q``frac_bits``."""
    return build_pwl_table(_gelu, GELU_BREAKPOINTS, frac_bits)


def silu_table(frac_bits: int) -> PwlTable:
    """PWL SiLU table for inputs and outputs in Q``frac_bits``."""
    return build_pwl_table(_silu, SILU_BREAKPOINTS, frac_bits)


def pwl(x: np.ndarray, table: PwlTable, bits: int) -> np.ndarray:
    """Exact integer PWL function of :class:`hw.blocks.pwl.PiecewiseLinear`."""
    x = np.asarray(x, dtype=np.int64)
    segment = np.searchsorted(np.asarray(table.thresholds, dtype=np.int64), x, side="right")
    slope = np.asarray(table.slopes, dtype=np.int64)[segment]
    offset = np.asarray(table.offsets, dtype=np.int64)[segment]
    return saturate((slope * x + offset) >> SLOPE_FRAC_BITS, bits)


def relu(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)``, exact model of :class:`hw.blocks.relu.ReLU`."""
    return np.maximum(np.asarray(x, dtype=np.int64), 0)


def gelu(x: np.ndarray, *, bits: int, frac_bits: int) -> np.ndarray:
    """Exact model of :class:`hw.blocks.gelu.GeLU`."""
    return pwl(x, gelu_table(frac_bits), bits)


def silu(x: np.ndarray, *, bits: int, frac_bits: int) -> np.ndarray:
    """Exact model of :class:`hw.blocks.silu.SiLU`."""
    return pwl(x, silu_table(frac_bits), bits)
