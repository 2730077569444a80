"""2x2 max-pool (stride 2) of a row-major pixel stream, with a half-row line buffer."""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from hw.blocks.params import check_bits, check_int, check_width, validated
from hw.blocks.vectors import maximum, vector_layout, vector_stream
from hw.errors import HwError


class MaxPool2x2(wiring.Component):
    """Max-pools 2x2 windows of a feature map streamed one pixel per beat in row-major order.

    Each beat is one pixel with ``width`` channels (a single-channel map uses ``width=1``). The block
    keeps the horizontal pair maxima of an even row in a line buffer of ``cols / 2`` vectors and, on the
    odd row, emits ``max(line_buffer, pair max)``: one output pixel per 2x2 window, row-major, so the
    output is a ``(rows/2) x (cols/2)`` map. Rows are counted modulo 2 only, so maps of any even height
    can follow each other without a gap.

    Latency: 1 cycle after the window's bottom-right pixel is accepted. Throughput: 1 input beat per
    cycle (one output per 4 inputs); the input stalls only while an output waits on ``o.ready``.

    Parameters
    ----------
    bits : int
        Element width, 8 or 16.
    width : int
        Channels per beat.
    cols : int
        Pixels per row, even and at least 2.

    Attributes
    ----------
    i : In(stream.Signature(ArrayLayout(signed(bits), width)))
        Input pixels, row-major.
    o : Out(stream.Signature(ArrayLayout(signed(bits), width)))
        Pooled pixels, row-major. Golden model: :func:`hw.golden.pooling.maxpool2x2`.
    """

    @validated
    def __init__(self, *, bits: int, width: int, cols: int) -> None:
        self.bits = check_bits("MaxPool2x2", bits)
        self.width = check_width("MaxPool2x2", width)
        self.cols = check_int("MaxPool2x2", "cols", cols, minimum=2)
        if self.cols % 2:
            raise HwError(f"must be even, not {cols}", source="MaxPool2x2: cols")
        super().__init__({
            "i": In(vector_stream(self.bits, self.width)),
            "o": Out(vector_stream(self.bits, self.width)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        layout = vector_layout(self.bits, self.width)
        half = self.cols // 2
        m.submodules.line = line = memory.Memory(shape=layout, depth=half, init=[])
        wr = line.write_port()
        rd = line.read_port(domain="comb")

        pair = Signal(range(half))        # index of the horizontal pixel pair within the row
        odd_col = Signal()
        odd_row = Signal()
        left = Signal(layout)             # even-column pixel waiting for its right neighbour

        emits = odd_row & odd_col         # this beat completes a window
        can_take = ~emits | ~self.o.valid | self.o.ready
        take = self.i.valid & can_take
        m.d.comb += [
            self.i.ready.eq(can_take),
            rd.addr.eq(pair),
            wr.addr.eq(pair),
        ]
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        with m.If(take):
            m.d.sync += odd_col.eq(~odd_col)
            with m.If(~odd_col):
                m.d.sync += left.eq(self.i.payload)
            with m.Else():
                with m.If(pair == half - 1):
                    m.d.sync += [pair.eq(0), odd_row.eq(~odd_row)]
                with m.Else():
                    m.d.sync += pair.eq(pair + 1)
                with m.If(~odd_row):
                    m.d.comb += wr.en.eq(1)
                    for k in range(self.width):
                        m.d.comb += wr.data[k].eq(maximum(left[k], self.i.payload[k]))
                with m.Else():
                    m.d.sync += self.o.valid.eq(1)
                    for k in range(self.width):
                        m.d.sync += self.o.payload[k].eq(
                            maximum(rd.data[k], maximum(left[k], self.i.payload[k])))
        return m
