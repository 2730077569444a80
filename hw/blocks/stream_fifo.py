"""Synchronous FIFO with stream ports, for decoupling producers and consumers."""

from __future__ import annotations

from amaranth.hdl import Module, Shape, ShapeLike
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.blocks.params import check_int, validated
from hw.errors import HwError


class StreamFifo(wiring.Component):
    """A ``depth``-entry FIFO between stream ``i`` and stream ``o`` (any payload shape).

    Built on :class:`amaranth.lib.fifo.SyncFIFOBuffered`: a beat accepted at cycle ``t`` is valid on
    ``o`` at ``t + 1`` at the earliest; 1 beat per cycle in and out when neither side stalls.

    Parameters
    ----------
    shape : ShapeLike
        Payload shape, e.g. ``hw.blocks.vectors.vector_layout(16, 8)``.
    depth : int
        Number of entries, at least 2 (the output register counts as one entry).

    Attributes
    ----------
    i : In(stream.Signature(shape))
        Beats in.
    o : Out(stream.Signature(shape))
        The same beats, in order.
    level : Out(range(depth + 1))
        Entries stored.
    """

    @validated
    def __init__(self, *, shape: ShapeLike, depth: int) -> None:
        try:
            Shape.cast(shape)
        except TypeError as exc:
            raise HwError(f"must be a shape, not {shape!r}", source="StreamFifo: shape") from exc
        self.shape = shape
        self.depth = check_int("StreamFifo", "depth", depth, minimum=2)
        super().__init__({
            "i": In(stream.Signature(shape)),
            "o": Out(stream.Signature(shape)),
            "level": Out(range(self.depth + 1)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.queue = queue = fifo.SyncFIFOBuffered(width=Shape.cast(self.shape).width,
                                                           depth=self.depth)
        m.d.comb += [
            queue.w_data.eq(self.i.payload),
            queue.w_en.eq(self.i.valid),
            self.i.ready.eq(queue.w_rdy),
            self.o.payload.eq(queue.r_data),
            self.o.valid.eq(queue.r_rdy),
            queue.r_en.eq(self.o.ready),
            self.level.eq(queue.level),
        ]
        return m
