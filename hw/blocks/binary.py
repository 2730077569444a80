"""Base class of the two-input element-wise stream blocks (add, multiply-requant)."""

from __future__ import annotations

from amaranth.hdl import Module, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.blocks.params import check_bits, check_width, validated
from hw.blocks.vectors import vector_stream


class BinaryStage(wiring.Component):
    """Joins streams ``a`` and ``b`` beat by beat and applies :meth:`combine` per element.

    A beat is consumed from both inputs in the same cycle (when both are valid and the output register
    is free); latency 1 cycle, throughput 1 beat per cycle.

    Attributes
    ----------
    a, b : In(stream.Signature(ArrayLayout(signed(bits), width)))
        Operand vectors; element ``k`` of ``a`` pairs with element ``k`` of ``b``.
    o : Out(stream.Signature(ArrayLayout(signed(bits), width)))
        Results.
    """

    _name = "BinaryStage"

    @validated
    def __init__(self, *, bits: int, width: int) -> None:
        self.bits = check_bits(self._name, bits)
        self.width = check_width(self._name, width)
        super().__init__({
            "a": In(vector_stream(self.bits, self.width)),
            "b": In(vector_stream(self.bits, self.width)),
            "o": Out(vector_stream(self.bits, self.width)),
        })

    def combine(self, m: Module, a: Value, b: Value, lane: int) -> Value:
        """Combinational function of two signed elements of lane ``lane``; the result must fit ``bits``
        (helper signals may be added to ``m``)."""
        raise NotImplementedError

    def elaborate(self, platform) -> Module:
        m = Module()
        load = ~self.o.valid | self.o.ready
        both = self.a.valid & self.b.valid
        m.d.comb += [
            self.a.ready.eq(load & self.b.valid),
            self.b.ready.eq(load & self.a.valid),
        ]
        with m.If(load):
            m.d.sync += self.o.valid.eq(both)
            with m.If(both):
                for k in range(self.width):
                    m.d.sync += self.o.payload[k].eq(
                        self.combine(m, self.a.payload[k], self.b.payload[k], k))
        return m
