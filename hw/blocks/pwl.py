"""Piecewise-linear activation on a vector stream (the engine behind GeLU and SiLU)."""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Value, signed

from hw.blocks.elementwise import ElementwiseStage
from hw.blocks.params import validated
from hw.blocks.vectors import saturate, wire
from hw.errors import HwError
from hw.golden.activations import SLOPE_FRAC_BITS, PwlTable


class PiecewiseLinear(ElementwiseStage):
    """``y = saturate((slope[s] * x + offset[s]) >> 12)`` with segment ``s`` = number of thresholds
    ``<= x`` (format in :mod:`hw.golden.activations`). Latency 1 cycle, 1 beat per cycle; one multiplier
    per lane.

    Parameters
    ----------
    bits : int
        Element width, 8 or 16.
    width : int
        Elements per beat.
    table : hw.golden.activations.PwlTable
        Quantised thresholds, slopes and offsets.

    Attributes
    ----------
    i : In(stream.Signature(ArrayLayout(signed(bits), width)))
        Inputs.
    o : Out(stream.Signature(ArrayLayout(signed(bits), width)))
        Outputs. Golden model: :func:`hw.golden.activations.pwl`.
    """

    _name = "PiecewiseLinear"

    @validated
    def __init__(self, *, bits: int, width: int, table: PwlTable) -> None:
        if not isinstance(table, PwlTable):
            raise HwError(f"must be a PwlTable, not {table!r}", source=f"{self._name}: table")
        segments = len(table.thresholds) + 1
        if len(table.slopes) != segments or len(table.offsets) != segments:
            raise HwError(f"needs {segments} slopes and offsets for {segments - 1} thresholds",
                          source=f"{self._name}: table")
        if list(table.thresholds) != sorted(table.thresholds):
            raise HwError("thresholds must be non-decreasing", source=f"{self._name}: table")
        self.table = table
        super().__init__(bits=bits, width=width)

    def element(self, m: Module, x: Value, lane: int) -> Value:
        table = self.table
        slope_shape = signed(max(Const(v).shape().width for v in table.slopes) + 1)
        offset_shape = signed(max(Const(v).shape().width for v in table.offsets) + 1)
        slope: Value = Const(table.slopes[-1], slope_shape)
        offset: Value = Const(table.offsets[-1], offset_shape)
        # Walk the thresholds from the top down: the lowest threshold above x selects the segment.
        for s in reversed(range(len(table.thresholds))):
            below = x < table.thresholds[s]
            slope = Mux(below, Const(table.slopes[s], slope_shape), slope)
            offset = Mux(below, Const(table.offsets[s], offset_shape), offset)
        return saturate(wire(m, (slope * x + offset) >> SLOPE_FRAC_BITS, f"line{lane}"), self.bits)
