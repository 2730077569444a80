"""Base class of the one-input, one-output element-wise stream blocks (ReLU, PWL activations)."""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.blocks.params import check_bits, check_width, validated
from hw.blocks.pipeline import StagedRegisters, skid_buffer, valid_chain
from hw.blocks.vectors import vector_stream


class ElementwiseStage(wiring.Component):
    """Applies :meth:`element` to every element of every beat, through ``LATENCY`` register stages.

    Latency ``LATENCY`` cycles (1 unless a subclass pipelines its function), throughput 1 beat per cycle;
    back-pressure on ``o`` holds the whole pipeline; ``i.ready`` is a register (high while the input's skid
    register is empty, see :mod:`hw.blocks.pipeline`), so it does not follow ``o.ready`` combinationally.

    Subclasses set ``_name`` and implement :meth:`element`; one that cuts its function into stages with
    :meth:`StagedRegisters.stage` sets ``LATENCY`` to the number of register levels it inserts plus one.

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
    #: Register stages from ``i`` to ``o`` (the output register included).
    LATENCY = 1

    @validated
    def __init__(self, *, bits: int, width: int) -> None:
        self.bits = check_bits(self._name, bits)
        self.width = check_width(self._name, width)
        super().__init__({
            "i": In(vector_stream(self.bits, self.width)),
            "o": Out(vector_stream(self.bits, self.width)),
        })

    def element(self, m: Module, x: Value, lane: int, stages: StagedRegisters) -> Value:
        """Function of one signed element of lane ``lane``, cut into ``LATENCY - 1`` stages with
        ``stages.stage``; the result must fit ``bits`` (helper signals may be added to ``m``)."""
        raise NotImplementedError

    def elaborate(self, platform) -> Module:
        m = Module()
        advance = Signal()
        m.d.comb += advance.eq(~self.o.valid | self.o.ready)
        ready, valid, raw = skid_buffer(m, self.i.valid, self.i.payload.as_value(), advance)
        entering = data.View(self.i.payload.shape(), raw)
        m.d.comb += [self.i.ready.eq(ready), self.o.valid.eq(valid_chain(m, advance, valid, self.LATENCY))]
        stages = StagedRegisters(m, advance)
        for k in range(self.width):
            result = self.element(m, entering[k], k, stages)
            with m.If(advance):
                m.d.sync += self.o.payload[k].eq(result)
        return m
