"""Base class of the one-input, one-output element-wise stream blocks (ReLU, PWL activations)."""

from __future__ import annotations

from amaranth.hdl import Module, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.blocks.params import check_bits, check_width, validated
from hw.blocks.vectors import vector_stream


class ElementwiseStage(wiring.Component):
    """Applies :meth:`element` to every element of every beat, through one output register.

    Latency 1 cycle, throughput 1 beat per cycle; back-pressure on ``o`` stalls ``i`` (``i.ready`` is
    high when the output register is empty or being drained).

    Subclasses set ``_name`` and implement :meth:`element`.

    Parameters
    ----------
    bits : int
        Element width, 8 or 16.
    width : int
        Elements per beat.

    Attributes
    ----------
    i : In(stream.Signature(ArrayLayout(signed(bits), width)))
        Input vectors.
    o : Out(stream.Signature(ArrayLayout(signed(bits), width)))
        Output vectors, same layout.
    """

    _name = "ElementwiseStage"

    @validated
    def __init__(self, *, bits: int, width: int) -> None:
        self.bits = check_bits(self._name, bits)
        self.width = check_width(self._name, width)
        super().__init__({
            "i": In(vector_stream(self.bits, self.width)),
            "o": Out(vector_stream(self.bits, self.width)),
        })

    def element(self, m: Module, x: Value, lane: int) -> Value:
        """Combinational function of one signed element of lane ``lane``; the result must fit ``bits``
        (helper signals may be added to ``m``)."""
        raise NotImplementedError

    def elaborate(self, platform) -> Module:
        m = Module()
        load = ~self.o.valid | self.o.ready
        m.d.comb += self.i.ready.eq(load)
        with m.If(load):
            m.d.sync += self.o.valid.eq(self.i.valid)
            with m.If(self.i.valid):
                for k in range(self.width):
                    m.d.sync += self.o.payload[k].eq(self.element(m, self.i.payload[k], k))
        return m
