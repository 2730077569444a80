"""Piecewise-linear GeLU (x * Phi(x)) on a vector stream."""

from __future__ import annotations

from hw.blocks.params import check_bits, check_int, validated
from hw.blocks.pwl import PiecewiseLinear
from hw.golden.activations import gelu_table


class GeLU(PiecewiseLinear):
    """PWL GeLU (x * Phi(x)) with inputs and outputs in Q``frac_bits``; breakpoints and the integer
    formula are documented in :mod:`hw.golden.activations`. Latency 4 cycles, 1 beat per cycle.

    Parameters
    ----------
    bits : int
        Element width, 8 or 16.
    width : int
        Elements per beat.
    frac_bits : int
        Fractional bits of inputs and outputs, ``0 <= frac_bits <= bits - 2``.

    Attributes
    ----------
    i : In(stream.Signature(ArrayLayout(signed(bits), width)))
        Inputs.
    o : Out(stream.Signature(ArrayLayout(signed(bits), width)))
        Outputs. Golden model: :func:`hw.golden.activations.gelu`.
    """

    _name = "GeLU"

    @validated
    def __init__(self, *, bits: int, width: int, frac_bits: int) -> None:
        bits = check_bits(self._name, bits)
        self.frac_bits = check_int(self._name, "frac_bits", frac_bits, minimum=0, maximum=bits - 2)
        super().__init__(bits=bits, width=width, table=gelu_table(self.frac_bits))
