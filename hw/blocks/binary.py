"""Base class of the two-input element-wise stream blocks (add, multiply-requant)."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.blocks.params import check_bits, check_width, validated
from hw.blocks.pipeline import StagedRegisters, skid_buffer, valid_chain
from hw.blocks.vectors import vector_stream


class BinaryStage(wiring.Component):
    """Joins streams ``a`` and ``b`` beat by beat and applies :meth:`combine` per element.

    A beat is consumed from both inputs in the same cycle (when both are valid and the input's skid
    register is empty: the readies are registers, not ``o.ready``); latency ``LATENCY`` cycles (1 unless
    a subclass pipelines its function), throughput 1 beat per cycle; back-pressure on ``o`` holds the
    whole pipeline (see :mod:`hw.blocks.pipeline`). A subclass that cuts :meth:`combine` into stages with
    :meth:`StagedRegisters.stage` sets ``LATENCY`` to the number of register levels it inserts plus one.

    Attributes
    ----------
    a, b : In(stream.Signature(ArrayLayout(signed(bits), width)))
        Operand vectors; element ``k`` of ``a`` pairs with element ``k`` of ``b``.
    o : Out(stream.Signature(ArrayLayout(signed(bits), width)))
        Results.
    """

    _name = "BinaryStage"
    #: Register stages from ``a``/``b`` to ``o`` (the output register included).
    LATENCY = 1

    @validated
    def __init__(self, *, bits: int, width: int) -> None:
        self.bits = check_bits(self._name, bits)
        self.width = check_width(self._name, width)
        super().__init__({
            "a": In(vector_stream(self.bits, self.width)),
            "b": In(vector_stream(self.bits, self.width)),
            "o": Out(vector_stream(self.bits, self.width)),
        })

    def combine(self, m: Module, a: Value, b: Value, lane: int, stages: StagedRegisters) -> Value:
        """Function of two signed elements of lane ``lane``, cut into ``LATENCY - 1`` stages with
        ``stages.stage``; the result must fit ``bits`` (helper signals may be added to ``m``)."""
        raise NotImplementedError

    def elaborate(self, platform) -> Module:
        m = Module()
        advance = Signal()
        m.d.comb += advance.eq(~self.o.valid | self.o.ready)
        both = Cat(self.a.payload.as_value(), self.b.payload.as_value())
        ready, valid, raw = skid_buffer(m, self.a.valid & self.b.valid, both, advance)
        shape = self.a.payload.shape()
        a = data.View(shape, raw[:shape.size])
        b = data.View(shape, raw[shape.size:])
        m.d.comb += [
            self.a.ready.eq(ready & self.b.valid),
            self.b.ready.eq(ready & self.a.valid),
            self.o.valid.eq(valid_chain(m, advance, valid, self.LATENCY)),
        ]
        stages = StagedRegisters(m, advance)
        for k in range(self.width):
            result = self.combine(m, a[k], b[k], k, stages)
            with m.If(advance):
                m.d.sync += self.o.payload[k].eq(result)
        return m
