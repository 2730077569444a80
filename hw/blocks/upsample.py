"""2x nearest-neighbour upsample of a row-major pixel stream, with a one-row line buffer."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from hw.blocks.params import check_bits, check_int, check_width, validated
from hw.blocks.vectors import vector_layout, vector_stream


class Upsample2x(wiring.Component):
    """Doubles a feature map in both directions: every pixel twice, every row twice.

    Each beat is one pixel with ``width`` channels, row-major. While an input row streams in, each pixel
    is emitted twice and stored in a line buffer of ``cols`` vectors; the row is then replayed from the
    buffer (each pixel twice again) while the input is stalled. Output: a ``2 rows x 2 cols`` map.

    Latency: 1 cycle from accepting a pixel to its first copy on ``o``. Throughput: 1 output beat per
    cycle when ``o`` is ready, plus one idle cycle after each replayed row, i.e. ``4 * cols`` outputs per
    ``4 * cols + 1`` cycles (the input accepts at most 1 beat every 2 cycles and waits during the
    replayed row).

    Parameters
    ----------
    bits : int
        Element width, 8 or 16.
    width : int
        Channels per beat.
    cols : int
        Input pixels per row, at least 1.

    Attributes
    ----------
    i : In(stream.Signature(ArrayLayout(signed(bits), width)))
        Input pixels, row-major.
    o : Out(stream.Signature(ArrayLayout(signed(bits), width)))
        Upsampled pixels, row-major. Golden model: :func:`hw.golden.pooling.upsample2x`.
    """

    @validated
    def __init__(self, *, bits: int, width: int, cols: int) -> None:
        self.bits = check_bits("Upsample2x", bits)
        self.width = check_width("Upsample2x", width)
        self.cols = check_int("Upsample2x", "cols", cols, minimum=1)
        super().__init__({
            "i": In(vector_stream(self.bits, self.width)),
            "o": Out(vector_stream(self.bits, self.width)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        layout = vector_layout(self.bits, self.width)
        m.submodules.line = line = memory.Memory(shape=layout, depth=self.cols, init=[])
        wr = line.write_port()
        rd = line.read_port(domain="comb")

        col = Signal(range(self.cols))
        replay = Signal()      # emitting the second copy of the row from the line buffer
        second = Signal()      # emitting the second copy of the current pixel
        held = Signal()        # `pixel` holds an accepted input (first copy of the row)
        pixel = Signal(layout)

        end_of_row = col == self.cols - 1
        done_pixel = self.o.valid & self.o.ready & second

        m.d.comb += [
            rd.addr.eq(col),
            # A pixel accepted while the previous one leaves belongs to the next column.
            wr.addr.eq(Mux(held, col + 1, col)),
            wr.data.eq(self.i.payload),
            self.o.valid.eq(Mux(replay, 1, held)),
            self.o.payload.eq(Mux(replay, rd.data, pixel)),
        ]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += second.eq(~second)
        with m.If(done_pixel):
            m.d.sync += col.eq(Mux(end_of_row, 0, col + 1))
            with m.If(end_of_row):
                m.d.sync += replay.eq(~replay)

        # Accept the next input when nothing is held, or in the cycle the held pixel's second copy
        # leaves (unless that ends the row and the replay begins).
        can_take = ~replay & (~held | (done_pixel & ~end_of_row))
        m.d.comb += self.i.ready.eq(can_take)
        with m.If(~replay & done_pixel):
            m.d.sync += held.eq(0)
        with m.If(can_take & self.i.valid):
            m.d.comb += wr.en.eq(1)
            m.d.sync += [held.eq(1), pixel.eq(self.i.payload)]
        return m
