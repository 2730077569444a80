"""Saturating element-wise addition of two vector streams (residual connections, gated-FFN sums)."""

from __future__ import annotations

from amaranth.hdl import Module, Value

from hw.blocks.binary import BinaryStage
from hw.blocks.pipeline import StagedRegisters
from hw.blocks.vectors import saturate, wire


class ElementwiseAdd(BinaryStage):
    """``o = saturate(a + b)`` per element; latency 1 cycle, 1 beat per cycle.

    Parameters
    ----------
    bits : int
        Element width, 8 or 16.
    width : int
        Elements per beat.

    Attributes
    ----------
    a, b : In(stream.Signature(ArrayLayout(signed(bits), width)))
        Operands, consumed together.
    o : Out(stream.Signature(ArrayLayout(signed(bits), width)))
        Sums clamped to the element range. Golden model: :func:`hw.golden.elementwise.add_saturate`.
    """

    _name = "ElementwiseAdd"

    def combine(self, m: Module, a: Value, b: Value, lane: int, stages: StagedRegisters) -> Value:
        return saturate(wire(m, a + b, f"sum{lane}"), self.bits)
