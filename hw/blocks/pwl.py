"""Piecewise-linear activation on a vector stream (the engine behind GeLU and SiLU)."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Shape, Value, signed

from hw.blocks.elementwise import ElementwiseStage
from hw.blocks.params import validated
from hw.blocks.pipeline import StagedRegisters
from hw.blocks.vectors import saturate, wire
from hw.errors import HwError
from hw.golden.activations import SLOPE_FRAC_BITS, PwlTable


class PiecewiseLinear(ElementwiseStage):
    """``y = saturate((slope[s] * x + offset[s]) >> 12)`` with segment ``s`` = number of thresholds
    ``<= x`` (format in :mod:`hw.golden.activations`). Latency 4 cycles, 1 beat per cycle; one multiplier
    per lane.

    Pipelined so that no cycle holds more than one of the steps, whatever feeds ``i`` (in a core, a
    LUT-RAM FIFO read):

    1. the threshold comparisons (``x >= t`` for every threshold, registered with ``x``);
    2. the segment's slope and offset, selected from the comparisons (registered);
    3. the multiply ``slope * x`` (registered: a ``MULT18X18D`` with its output register);
    4. the add, shift and saturation, into the output register.

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
    LATENCY = 4

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

    def element(self, m: Module, x: Value, lane: int, stages: StagedRegisters) -> Value:
        table = self.table
        slope_shape = signed(max(Const(v).shape().width for v in table.slopes) + 1)
        offset_shape = signed(max(Const(v).shape().width for v in table.offsets) + 1)
        # 1: at_least[s] = x >= threshold s; the thresholds are sorted, so these bits are a thermometer
        at_least = stages.stage(Cat(*(x >= t for t in table.thresholds)), f"at_least{lane}")
        x1 = stages.stage(x, f"x1_{lane}")
        # 2: segment s is where the thermometer steps from 1 to 0: one-hot, then an OR of constants
        count = len(table.thresholds)
        one_hot = [(at_least[s - 1] if s else Const(1)) & (~at_least[s] if s < count else Const(1))
                   for s in range(count + 1)]
        slope = stages.stage(_select(one_hot, table.slopes, slope_shape), f"slope{lane}")
        offset = stages.stage(_select(one_hot, table.offsets, offset_shape), f"offset{lane}")
        x2 = stages.stage(x1, f"x2_{lane}")
        # 3: the multiply, registered
        product = stages.stage(slope * x2, f"product{lane}")
        offset3 = stages.stage(offset, f"offset3_{lane}")
        # 4: add, shift and saturate (the caller's output register)
        return saturate(wire(m, (product + offset3) >> SLOPE_FRAC_BITS, f"line{lane}"), self.bits)


def _select(one_hot: list[Value], constants: tuple[int, ...], shape: Shape) -> Value:
    """The constant whose one-hot bit is set: the OR of every constant masked by its bit."""
    width = shape.width
    result: Value = Const(0, width)
    for bit, constant in zip(one_hot, constants):
        result = result | (bit.replicate(width) & Const(constant & ((1 << width) - 1), width))
    return result.as_signed()
