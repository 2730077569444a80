"""The off-chip X loader: operand elements streamed from off-chip lines, one element per pop.

It steps through the program and serves the instructions whose X comes from off-chip:

- ``OFFCHIP``: ``x_end`` lines from line ``x_base`` once per N tile (the MAC array reads the operand
  once per tile); a pixel-major (``m_outer``) GEMM instead reads row ``m`` (``k_bound / B`` lines) once
  per N tile, then the next row;
- ``LINEBUF`` (convolutions): ``x_end`` lines from ``x_base`` once, into the core's line buffer.

Other instructions are skipped. With ``x_dep`` it first waits until every earlier instruction's results
are written (``mac_index`` has reached it and ``results_written``). Lines land in a FIFO of
``window_lines`` lines; a burst is requested only when the FIFO has room for all of it (requested lines
are reserved), so responses are never back-pressured. Burst lengths are registered a state ahead, the
free lines are counted in a register and "the burst fits" is registered too, so a request (and the
state that its grant moves) starts at flip-flops.
Elements leave on the ``x`` stream, ``B`` per line, in address order.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.core.instruction_rom import index_shape, instruction_port_signature
from hw.core.isa import ADDR_BITS, INSTR_LAYOUT, XSource
from hw.core.memory_system import LEN_BITS, MAX_BURST, read_client_signature
from hw.core.units import log2_exact
from hw.errors import HwError


class XLoader(wiring.Component):
    """Off-chip X operand lines to an element stream (see the module docstring).

    Parameters
    ----------
    words_per_line : int
        ``B``, int8 elements per off-chip line (a power of two).
    n_instr : int
        Instructions in the program.
    window_lines : int
        Depth of the line FIFO: lines requested and not yet consumed (a power of two, at least
        ``2 * MAX_BURST``).

    Attributes
    ----------
    running : In(1)
        Load (level).
    instr : Out(instruction_port_signature)
        The loader's instruction ROM port.
    mac_index : In, results_written : In(1)
        The MAC array's current instruction and whether all results so far are written (``x_dep``).
    rd_x : Out(read client)
        Off-chip read channel.
    x : Out(stream.Signature(signed(8)))
        Operand elements.
    """

    def __init__(self, *, words_per_line: int, n_instr: int, window_lines: int) -> None:
        log2_exact(words_per_line, "XLoader: words_per_line")
        if not isinstance(n_instr, int) or n_instr < 1:
            raise HwError(f"must be a positive integer, not {n_instr!r}", source="XLoader: n_instr")
        log2_exact(window_lines, "XLoader: window_lines")
        if window_lines < 2 * MAX_BURST:
            raise HwError(f"must be at least {2 * MAX_BURST}, not {window_lines}", source="XLoader: window_lines")
        self.B, self.n_instr, self.window_lines = words_per_line, n_instr, window_lines
        super().__init__({
            "running": In(1), "instr": Out(instruction_port_signature(n_instr)),
            "mac_index": In(index_shape(n_instr)), "results_written": In(1),
            "rd_x": Out(read_client_signature(8 * words_per_line)),
            "x": Out(stream.Signature(signed(8))),
        })

    def elaborate(self, platform):
        m = Module()
        B, n_instr, depth = self.B, self.n_instr, self.window_lines
        lb = log2_exact(B, "B")
        m.submodules.lines = lines = fifo.SyncFIFO(width=8 * B, depth=depth)
        m.d.comb += [lines.w_en.eq(self.rd_x.resp_valid), lines.w_data.eq(self.rd_x.resp_data)]

        # elements of the head line, one per pop
        sub = Signal(range(max(B, 2)))
        line_pop = Signal()
        m.d.comb += [self.x.valid.eq(lines.r_rdy), self.x.payload.eq(lines.r_data.word_select(sub, 8))]
        with m.If(self.x.valid & self.x.ready):
            m.d.sync += sub.eq(sub + 1)
            with m.If(sub == B - 1):
                m.d.sync += sub.eq(0)
                m.d.comb += [lines.r_en.eq(1), line_pop.eq(1)]

        index = Signal(index_shape(n_instr))
        rom = self.instr.data                 # ROM[index] while in NEXT (see the prefetch below)
        cur = Signal(INSTR_LAYOUT)            # the instruction being loaded, registered when it starts
        tile = Signal(12)
        row = Signal(12)
        row_addr = Signal(ADDR_BITS)
        rowwise = Signal()      # a pixel-major GEMM operand (a line buffer is loaded in one pass)
        m.d.comb += rowwise.eq(cur.m_outer & (cur.x_src == XSource.OFFCHIP))
        addr = Signal(ADDR_BITS)
        left = Signal(ADDR_BITS)
        free = Signal(range(depth + 1), init=depth)     # lines of the FIFO neither filled nor requested
        fits = Signal()
        burst = Signal(LEN_BITS)      # registered: this burst's lines, and whether it is the last
        final = Signal()
        granted = Signal()
        m.d.comb += granted.eq(self.rd_x.req_valid & self.rd_x.req_ready)
        after_grant = Mux(granted, free - burst, free)
        m.d.sync += free.eq(Mux(line_pop, after_grant + 1, after_grant))     # the late pop only selects
        skip = Signal()
        with m.FSM(name="xload") as fsm:
            with m.State("NEXT"):
                with m.If(self.running & (index < n_instr)):
                    with m.If((rom.x_src != XSource.OFFCHIP) & (rom.x_src != XSource.LINEBUF)):
                        m.d.comb += skip.eq(1)
                        m.d.sync += index.eq(index + 1)
                    with m.Elif(~rom.x_dep | ((self.mac_index >= index) & self.results_written)):
                        starts_rowwise = rom.m_outer & (rom.x_src == XSource.OFFCHIP)
                        m.d.sync += [cur.eq(rom), tile.eq(0), row.eq(0), row_addr.eq(rom.x_base),
                                     addr.eq(rom.x_base), left.eq(Mux(starts_rowwise, rom.k_bound >> lb, rom.x_end))]
                        m.next = "SIZE"
            with m.State("SIZE"):
                size = Mux(left > MAX_BURST, MAX_BURST, left)
                m.d.sync += [burst.eq(size), final.eq(left <= MAX_BURST), fits.eq(size <= free)]
                m.next = "BURST"
            with m.State("BURST"):
                # "the burst fits", registered: only this loader takes FIFO space, so it stays true until granted
                m.d.sync += fits.eq(burst <= free)
                m.d.comb += [self.rd_x.req_valid.eq(fits),
                             self.rd_x.req_addr.eq(addr), self.rd_x.req_len.eq(burst)]
                with m.If(granted):
                    m.d.sync += [addr.eq(addr + burst), left.eq(left - burst)]
                    m.next = "SIZE"
                    with m.If(final):
                        with m.If(rowwise):
                            # pixel-major: row m once per N tile, then the next row
                            row_lines = cur.k_bound >> lb
                            m.d.sync += [addr.eq(row_addr), left.eq(row_lines), tile.eq(tile + 1)]
                            with m.If(tile == cur.n_tiles - 1):
                                m.d.sync += [tile.eq(0), row.eq(row + 1), row_addr.eq(row_addr + row_lines),
                                             addr.eq(row_addr + row_lines)]
                                with m.If(row == cur.m_bound - 1):
                                    m.d.sync += index.eq(index + 1)
                                    m.next = "NEXT"
                        with m.Else():
                            m.d.sync += [addr.eq(cur.x_base), left.eq(cur.x_end), tile.eq(tile + 1)]
                            # a line buffer is loaded once; an operand stream once per N tile
                            with m.If((tile == cur.n_tiles - 1) | (cur.x_src == XSource.LINEBUF)):
                                m.d.sync += index.eq(index + 1)
                                m.next = "NEXT"
        # prefetch: away from NEXT (and when NEXT skips) the ROM reads the instruction NEXT sees next
        m.d.comb += self.instr.addr.eq(index + (~fsm.ongoing("NEXT") | skip))
        return m
