"""The output writer: result groups serialised into the scratchpad, the stream-out port or off-chip lines.

A *group* is one row of one N tile: ``L`` int8 results (``L/2`` of them for a gated task, ``half``), the
address of its first element and its destination. Groups wait in a two-entry FIFO; the head one is
written out one element per cycle (scratchpad, at ``addr + i``), one element per accepted beat (stream
out) or one ``B``-element line per accepted write (off-chip, at line ``addr / B + i``). ``Dest.NONE``
groups are dropped. Only the destinations the program uses are built.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.core.isa import ADDR_BITS, Dest
from hw.core.memory_system import write_client_signature
from hw.core.units import log2_exact
from hw.errors import HwError

#: Groups that may wait for the writer.
GROUP_FIFO_DEPTH = 2


def group_layout(lanes: int) -> data.StructLayout:
    """One result group: ``data`` (``lanes`` int8), first element ``addr``, ``dst`` and ``half`` (gated)."""
    return data.StructLayout({"data": 8 * lanes, "addr": ADDR_BITS, "dst": 2, "half": 1})


class OutputWriter(wiring.Component):
    """Result groups to their destinations (see the module docstring).

    Parameters
    ----------
    lanes : int
        ``L``, results per group (a power of two, a multiple of ``words_per_line``).
    words_per_line : int
        ``B``, int8 words per off-chip line (a power of two).
    spad, stream_out, offchip : bool
        Which destinations to build.

    Attributes
    ----------
    groups : In(stream.Signature(group_layout))
        Result groups.
    idle : Out(1)
        No group waiting or being written.
    spad_en, spad_addr, spad_data : Out (only with ``spad``)
        Scratchpad write port (one element per cycle).
    s_out : Out(stream.Signature(8)) (only with ``stream_out``)
        Results to the consumer core.
    wr : Out(write client) (only with ``offchip``)
        Off-chip write channel.
    """

    def __init__(self, *, lanes: int, words_per_line: int, spad: bool = False, stream_out: bool = False,
                 offchip: bool = False) -> None:
        log2_exact(lanes, "OutputWriter: lanes")
        log2_exact(words_per_line, "OutputWriter: words_per_line")
        if lanes % words_per_line:
            raise HwError(f"must be a multiple of words_per_line ({words_per_line}), not {lanes}",
                          source="OutputWriter: lanes")
        self.lanes, self.B = lanes, words_per_line
        self.spad, self.stream_out, self.offchip = bool(spad), bool(stream_out), bool(offchip)
        sig = {"groups": In(stream.Signature(group_layout(lanes))), "idle": Out(1)}
        if spad:
            sig.update({"spad_en": Out(1), "spad_addr": Out(ADDR_BITS), "spad_data": Out(8)})
        if stream_out:
            sig["s_out"] = Out(stream.Signature(8))
        if offchip:
            sig["wr"] = Out(write_client_signature(8 * words_per_line))
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        L, B = self.lanes, self.B
        layout = group_layout(L)
        m.submodules.queue = queue = fifo.SyncFIFO(width=layout.size, depth=GROUP_FIFO_DEPTH)
        m.d.comb += [queue.w_en.eq(self.groups.valid), queue.w_data.eq(self.groups.payload),
                     self.groups.ready.eq(queue.w_rdy), self.idle.eq(~queue.r_rdy)]
        head = data.View(layout, queue.r_data)
        index = Signal(range(L + 1))        # element (line, off-chip) of the head group being written
        finish = Signal()
        last_element = index == Mux(head.half, L // 2 - 1, L - 1)
        with m.If(queue.r_rdy):
            with m.Switch(head.dst):
                if self.spad:
                    with m.Case(Dest.SPAD):
                        m.d.comb += [self.spad_en.eq(1), self.spad_addr.eq(head.addr + index),
                                     self.spad_data.eq(head.data.word_select(index, 8)), finish.eq(last_element)]
                        m.d.sync += index.eq(index + 1)
                if self.stream_out:
                    with m.Case(Dest.STREAM):
                        m.d.comb += [self.s_out.valid.eq(1), self.s_out.payload.eq(head.data.word_select(index, 8))]
                        with m.If(self.s_out.ready):
                            m.d.comb += finish.eq(last_element)
                            m.d.sync += index.eq(index + 1)
                if self.offchip:
                    with m.Case(Dest.OFFCHIP):
                        n_lines = L // B
                        line = index[:max(n_lines.bit_length(), 1)] if n_lines > 1 else 0
                        m.d.comb += [self.wr.valid.eq(1), self.wr.addr.eq((head.addr >> log2_exact(B, "B")) + index),
                                     self.wr.data.eq(head.data.word_select(line, 8 * B))]
                        with m.If(self.wr.ready):
                            m.d.comb += finish.eq(index == Mux(head.half, n_lines // 2 - 1, n_lines - 1))
                            m.d.sync += index.eq(index + 1)
                with m.Default():
                    m.d.comb += finish.eq(1)
            with m.If(finish):
                m.d.comb += queue.r_en.eq(1)
                m.d.sync += index.eq(0)
        return m
