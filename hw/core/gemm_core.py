"""The compute core: an L-lane output-stationary MAC array driven by an instruction ROM.

Per cycle the core broadcasts one int8 X element to ``L`` lanes and multiplies it with one word of ``L``
int8 weights, accumulating in 32 bits. After ``k_bound`` cycles the ``L`` accumulators are either stored
as partial sums or requantised (arithmetic shift, saturation to int8, optional ReLU) and handed to the
output writer. Four decoupled units run ahead of the MAC array, each stepping through the same program:

- the weight fetcher streams ``k_bound x L`` weight tiles from off-chip into a circular weight buffer
  (as many tiles in flight as the buffer holds: double buffering and more); for a dynamic weight it
  first waits on a semaphore (another core's ``retired`` count);
- the X reader feeds operands from the scratchpad or the stream-in ring (waiting for arrival), with
  im2col addressing for convolutions (``_conv_reader``) and row-by-row ring release for line buffers
  and row streams;
- the X loader streams operands from off-chip once per N tile (per row and N tile for pixel-major
  GEMMs), or once into the ring for a convolution's line buffer;
- the output writer serialises results into the scratchpad, the stream-out port or off-chip lines,
  behind an optional epilogue (SiLU-times-gate, or the row softmax).

Loops run ``for nt: for m: for k`` (output-stationary per N tile) or, for convolutions and ``m_outer``
GEMMs, pixel-major ``for m: for nt: for k`` with all of the task's weight tiles resident.

A core fetches its next instruction when the MAC array finishes a task (one reconfiguration cycle,
counted). Only the sources/destinations that the program uses are generated: a core whose program never
reads off-chip X has no X loader, one that never streams out has no stream port, and so on.
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, fifo, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.core.isa import ADDR_BITS, INSTR_LAYOUT, Dest, Instruction, XSource
from hw.core.mac_pipeline import ACC_BITS, LATENCY, MacPipeline
from hw.core.memory_system import LEN_BITS, MAX_BURST, read_client_signature, write_client_signature
from hw.core.stress import random_stall
from hw.errors import HwError

CNT_BITS = 32
#: Result rows the MAC pipeline may have issued or landed ahead of the writer and epilogue.
LANDING_DEPTH = LATENCY + 3


def _log2(value: int, what: str) -> int:
    if value < 1 or value & (value - 1):
        raise HwError(f"must be a power of two, not {value}", source=what)
    return value.bit_length() - 1


class GemmCore(wiring.Component):
    """One compute core (see the module docstring).

    Parameters
    ----------
    name : str
        Core name (for signal names and errors).
    lanes : int
        ``L``, MAC lanes; a power of two and a multiple of ``words_per_line``.
    words_per_line : int
        ``B``, int8 words per off-chip line.
    program : sequence of Instruction
        The instruction ROM contents.
    spad_words, ring_words, psum_entries, wbuf_entries : int
        Scratchpad (int8 elements), stream-in ring (elements, power of two), partial-sum memory
        (``L x 32``-bit entries) and weight buffer (``L``-element entries, power of two) depths.
    glu_frac_bits : int
        Fixed-point fraction bits of the SiLU/multiply epilogue of gated instructions (if any).
    softmax_frac_bits : int
        Fraction bits of the scores entering the row-softmax epilogue of softmax instructions (if any).
    softmax_valid : int or None
        Real elements at the start of each softmax row (the rest is padding the SFU masks); default all.
    peers : int
        Cores in the design (``w_dep`` instructions wait on ``peer_retired[w_core]``).
    x_window_lines : int
        Depth of the X loader's line FIFO: how many off-chip lines it may have requested and not yet
        consumed (see :func:`hw.core.memory_system.read_window_lines`).
    seed : int
        Seed of this core's stress-stall generator.

    Attributes
    ----------
    start : In(1)
        Begin executing the program (level; hold high).
    done : Out(1)
        All instructions executed and all results written.
    rd_w, rd_x : Out(read client)
        Off-chip read channels for weights and (if used) X operands.
    wr : Out(write client)
        Off-chip write channel (if used).
    s_in : In(stream.Signature(8)), s_out : Out(stream.Signature(8))
        Element streams from the producer core / to the consumer core (if used).
    busy, stall, reconf : Out(32)
        Cycles in which the MAC array stepped, waited while running, and decoded an instruction.
    trace_addr : In, trace_data : Out(32)
        Read the cycle (``cycle`` input) at which instruction ``trace_addr`` finished.
    retired : Out(12)
        Instructions executed with all their results written (0 while results are in flight).
    peer_retired : In(12) array
        Every core's ``retired`` (if the program has ``w_dep`` instructions).
    """

    def __init__(self, *, name: str, lanes: int, words_per_line: int, program: Sequence[Instruction],
                 spad_words: int, ring_words: int, psum_entries: int, wbuf_entries: int,
                 glu_frac_bits: int = 4, softmax_frac_bits: int = 4, softmax_valid: int | None = None,
                 peers: int = 1, x_window_lines: int = 2 * MAX_BURST, seed: int = 1) -> None:
        self.core_name = name
        self.lanes = lanes
        self.B = words_per_line
        self.program = list(program)
        if not self.program:
            raise HwError("a core needs at least one instruction", source=f"core {name}")
        _log2(lanes, f"core {name}: lanes")
        _log2(words_per_line, "words_per_line")
        if lanes % words_per_line:
            raise HwError(f"lanes ({lanes}) must be a multiple of the off-chip words per cycle "
                          f"({words_per_line})", source=f"core {name}: lanes")
        _log2(wbuf_entries, f"core {name}: weight buffer entries")
        for instr in self.program:
            resident = instr.k_bound * (instr.n_tiles if instr.pixel_major else 1)
            if resident > wbuf_entries:
                raise HwError(f"task {instr.task}: {resident} weight entries exceed the weight buffer "
                              f"({wbuf_entries} entries)", source=f"core {name}")
            if instr.x_src == XSource.LINEBUF and not instr.conv:
                raise HwError(f"task {instr.task}: only convolutions read through the line buffer",
                              source=f"core {name}")
            if instr.conv and (instr.acc_init or instr.acc_out or instr.glu or instr.x_src == XSource.OFFCHIP):
                raise HwError(f"task {instr.task}: a convolution reads the scratchpad, the ring or a line "
                              "buffer and writes requantised results", source=f"core {name}")
        self.spad_words = spad_words
        self.ring_words = ring_words
        self.psum_entries = psum_entries
        self.wbuf_entries = wbuf_entries
        self.seed = seed
        _log2(x_window_lines, f"core {name}: X loader lines")
        if x_window_lines < 2 * MAX_BURST:
            raise HwError(f"must be at least {2 * MAX_BURST}, not {x_window_lines}", source=f"core {name}: X loader lines")
        self.x_window_lines = x_window_lines
        srcs = {i.x_src for i in self.program}
        dsts = {i.dst for i in self.program}
        if XSource.OFFCHIP in srcs and XSource.LINEBUF in srcs:
            raise HwError("a program cannot both stream X from off-chip to the MAC array and into the "
                          "line buffer", source=f"core {name}")
        self.uses_spad_x = XSource.SPAD in srcs
        self.uses_stream_in = XSource.RING in srcs
        self.uses_linebuf = XSource.LINEBUF in srcs
        self.uses_ring = self.uses_stream_in or self.uses_linebuf
        self.uses_offchip_x = XSource.OFFCHIP in srcs or self.uses_linebuf   # has an X loader
        self.uses_conv = any(i.conv for i in self.program)
        self.uses_m_outer = any(i.m_outer and not i.conv for i in self.program)
        self.uses_wdep = any(i.w_dep for i in self.program)
        self.peers = peers
        softmax = {(i.m_outer, i.n_tiles * lanes) for i in self.program if i.softmax}
        self.softmax_row = None
        if softmax:
            if len(softmax) > 1 or not next(iter(softmax))[0] or any(i.glu for i in self.program):
                raise HwError("softmax tasks must run pixel-major (m_outer), share one row length per core, "
                              "and not share a core with gated tasks", source=f"core {name}")
            self.softmax_row = next(iter(softmax))[1]
        self.softmax_frac_bits = softmax_frac_bits
        self.softmax_valid = softmax_valid
        for instr in self.program:
            if instr.w_dep and instr.w_core >= peers:
                raise HwError(f"task {instr.task} waits for core {instr.w_core} of {peers}", source=f"core {name}")
        self.uses_spad_y = Dest.SPAD in dsts
        self.uses_stream_y = Dest.STREAM in dsts
        self.uses_offchip_y = Dest.OFFCHIP in dsts
        self.uses_psum = any(i.acc_init or i.acc_out for i in self.program)
        self.uses_glu = any(i.glu for i in self.program)
        self.glu_frac_bits = glu_frac_bits
        if self.uses_glu and (lanes < 2 or (lanes // 2) % words_per_line):
            raise HwError(f"gated tasks need lanes/2 ({lanes // 2}) to be a multiple of the off-chip words "
                          f"per cycle ({words_per_line})", source=f"core {name}: lanes")
        if (self.uses_spad_x or self.uses_spad_y) and spad_words <= 0:
            raise HwError("program uses the scratchpad but it has no words", source=f"core {name}")
        if self.uses_ring:
            _log2(ring_words, f"core {name}: ring words")
        if self.uses_psum and psum_entries <= 0:
            raise HwError("program uses partial sums but the psum memory is empty", source=f"core {name}")
        line_bits = 8 * words_per_line
        sig = {
            "start": In(1), "done": Out(1), "stress": In(1), "cycle": In(CNT_BITS),
            "rd_w": Out(read_client_signature(line_bits)),
            "busy": Out(CNT_BITS), "stall": Out(CNT_BITS), "reconf": Out(CNT_BITS),
            "trace_addr": In(range(max(len(self.program), 2))), "trace_data": Out(CNT_BITS),
            "retired": Out(12),
        }
        if self.uses_wdep:
            sig["peer_retired"] = In(12).array(peers)
        if self.uses_offchip_x:
            sig["rd_x"] = Out(read_client_signature(line_bits))
        if self.uses_offchip_y:
            sig["wr"] = Out(write_client_signature(line_bits))
        if self.uses_stream_in:
            sig["s_in"] = In(stream.Signature(8))
        if self.uses_stream_y:
            sig["s_out"] = Out(stream.Signature(8))
        super().__init__(sig)

    # ------------------------------------------------------------------------------------------------
    def elaborate(self, platform):
        m = Module()
        L, B = self.lanes, self.B
        lb = _log2(B, "B")
        lines_per_entry_log2 = _log2(L // B, "L/B")
        n_instr = len(self.program)
        D = self.wbuf_entries

        m.submodules.rom = rom = memory.Memory(shape=unsigned(INSTR_LAYOUT.size), depth=n_instr,
                                               init=[i.encode() for i in self.program])

        def rom_view(index: Signal) -> data.View:
            port = rom.read_port(domain="comb")
            m.d.comb += port.addr.eq(index)
            return data.View(INSTR_LAYOUT, port.data)

        running = Signal()
        with m.If(self.start):
            m.d.sync += running.eq(1)

        # ---------------- weight buffer + fetcher ----------------
        m.submodules.wbuf = wbuf = memory.Memory(shape=8 * L, depth=D, init=[])
        wbuf_w = wbuf.write_port(granularity=8 * B)
        wbuf_r = wbuf.read_port()           # synchronous: block RAM; the word reaches the MAC pipeline
        w_fill_lines = Signal(CNT_BITS)      # weight lines received so far
        w_filled = Signal(CNT_BITS)          # complete entries received
        m.d.comb += w_filled.eq(w_fill_lines >> lines_per_entry_log2)
        w_released = Signal(CNT_BITS)        # entries the MAC array has finished with
        with m.If(self.rd_w.resp_valid):
            m.d.comb += [
                wbuf_w.addr.eq((w_fill_lines >> lines_per_entry_log2)[:max(D.bit_length() - 1, 1)]),
                wbuf_w.data.eq(Cat(*[self.rd_w.resp_data] * (L // B))),
                wbuf_w.en.eq(Const(1, L // B) << w_fill_lines[:lines_per_entry_log2]
                            if lines_per_entry_log2 else 1),
            ]
            m.d.sync += w_fill_lines.eq(w_fill_lines + 1)

        wf_i = Signal(range(n_instr + 1))
        wf = rom_view(wf_i)
        wf_nt = Signal(12)
        wf_addr = Signal(ADDR_BITS)
        wf_left = Signal(24)
        wf_alloc = Signal(CNT_BITS)
        burst = Signal(LEN_BITS)             # registered: this burst's lines, and whether it is the tile's last
        wf_final = Signal()
        with m.FSM(name="wfetch"):
            with m.State("NEXT"):
                go = Signal()
                if self.uses_wdep:
                    peer = Array(self.peer_retired)
                    m.d.comb += go.eq(~wf.w_dep | (peer[wf.w_core] >= wf.w_count))
                else:
                    m.d.comb += go.eq(1)
                with m.If(running & (wf_i < n_instr) & go):
                    m.d.sync += [wf_addr.eq(wf.w_base), wf_nt.eq(0)]
                    m.next = "TILE"
            with m.State("TILE"):
                with m.If(wf_alloc + wf.k_bound - w_released <= D):
                    m.d.sync += [wf_left.eq(wf.k_bound << lines_per_entry_log2),
                                 wf_alloc.eq(wf_alloc + wf.k_bound)]
                    m.next = "SIZE"
            with m.State("SIZE"):
                m.d.sync += [burst.eq(Mux(wf_left > MAX_BURST, MAX_BURST, wf_left)), wf_final.eq(wf_left <= MAX_BURST)]
                m.next = "BURST"
            with m.State("BURST"):
                m.d.comb += [self.rd_w.req_valid.eq(1), self.rd_w.req_addr.eq(wf_addr),
                             self.rd_w.req_len.eq(burst)]
                with m.If(self.rd_w.req_ready):
                    m.d.sync += [wf_addr.eq(wf_addr + burst), wf_left.eq(wf_left - burst)]
                    m.next = "SIZE"
                    with m.If(wf_final):
                        with m.If(wf_nt == wf.n_tiles - 1):
                            m.d.sync += wf_i.eq(wf_i + 1)
                            m.next = "NEXT"
                        with m.Else():
                            m.d.sync += wf_nt.eq(wf_nt + 1)
                            m.next = "TILE"

        # ---------------- MAC-side state shared with the readers ----------------
        mac_i = Signal(range(n_instr + 1))
        mac_rom = rom_view(mac_i)
        mac = Signal(INSTR_LAYOUT)          # the running instruction, registered when it is decoded
        writer_idle = Signal()

        epi_quiet = Signal()

        def deps_ok(index: Signal):
            return (mac_i >= index) & writer_idle & epi_quiet

        # ---------------- scratchpad / ring / X reader ----------------
        ox_valid = Signal()       # the off-chip X loader's element stream (see below)
        ox_data = Signal(8)
        ox_pop = Signal()
        xfifo = None
        if self.uses_spad_x or self.uses_ring:
            m.submodules.xfifo = xfifo = fifo.SyncFIFO(width=8, depth=6)
        spad_w = None
        if self.uses_spad_x or self.uses_spad_y:
            m.submodules.spad = spad = memory.Memory(shape=8, depth=self.spad_words, init=[])
            spad_w = spad.write_port()
            spad_r = spad.read_port() if self.uses_spad_x else None
        ring_consumed = Signal(CNT_BITS)
        if self.uses_ring:
            R = self.ring_words
            m.submodules.ring = ring = memory.Memory(shape=8, depth=R, init=[])
            ring_w = ring.write_port()
            ring_r = ring.read_port()
            received = Signal(CNT_BITS)
            ring_room = Signal()
            m.d.comb += ring_room.eq(received - ring_consumed < R)
            m.d.comb += ring_w.addr.eq(received[:_log2(R, 'ring')] if R > 1 else 0)
            fill = Signal()
            if self.uses_linebuf:
                # the X loader's elements go into the ring (line buffer), one per cycle
                m.d.comb += fill.eq(ox_valid & ring_room)
                with m.If(fill):
                    m.d.comb += [ring_w.en.eq(1), ring_w.data.eq(ox_data), ox_pop.eq(1)]
                    m.d.sync += received.eq(received + 1)
            if self.uses_stream_in:
                rx_stall = random_stall(m, seed=self.seed * 7 + 3, enable=self.stress, name="rx")
                m.d.comb += self.s_in.ready.eq(ring_room & ~rx_stall & ~fill)
                with m.If(self.s_in.valid & self.s_in.ready):
                    m.d.comb += [ring_w.en.eq(1), ring_w.data.eq(self.s_in.payload)]
                    m.d.sync += received.eq(received + 1)

        if xfifo is not None:
            xf_i = Signal(range(n_instr + 1))
            xf = rom_view(xf_i)
            xf_nt = Signal(12)
            xf_m = Signal(12)
            xf_k = Signal(12)
            xf_row = Signal(ADDR_BITS)
            xf_klo = Signal(16)
            xf_koff = Signal(ADDR_BITS)
            # an operand read takes two registered steps: the address (``issued``), then the memory read
            # (``pending``), whose data enters the X FIFO
            issued = Signal()
            issued_ring = Signal()
            issued_zero = Signal()
            rd_addr = Signal(ADDR_BITS)
            pending = Signal()
            pending_ring = Signal()
            pending_zero = Signal()
            index = Signal(ADDR_BITS)
            m.d.comb += index.eq(xf_row + xf_koff + xf_klo)
            room = Signal()
            m.d.comb += room.eq(xfifo.level + pending + issued < xfifo.depth)
            m.d.sync += [issued.eq(0), pending.eq(issued), pending_ring.eq(issued_ring), pending_zero.eq(issued_zero)]
            if self.uses_spad_x:
                m.d.comb += spad_r.addr.eq(rd_addr)
            if self.uses_ring:
                m.d.comb += ring_r.addr.eq(rd_addr[:_log2(self.ring_words, 'ring')] if self.ring_words > 1 else 0)
            spad_data = spad_r.data if self.uses_spad_x else Const(0, 8)
            ring_data = ring_r.data if self.uses_ring else Const(0, 8)
            m.d.comb += [xfifo.w_en.eq(pending),
                         xfifo.w_data.eq(Mux(pending_zero, 0, Mux(pending_ring, ring_data, spad_data)))]
            with m.FSM(name="xread"):
                with m.State("NEXT"):
                    with m.If(running & (xf_i < n_instr)):
                        with m.If(xf.x_src == XSource.OFFCHIP):
                            m.d.sync += xf_i.eq(xf_i + 1)
                        with m.Elif(~xf.x_dep | deps_ok(xf_i)):
                            m.d.sync += [xf_nt.eq(0), xf_m.eq(0), xf_k.eq(0), xf_row.eq(xf.x_base),
                                         xf_klo.eq(0), xf_koff.eq(0)]
                            if self.uses_conv:
                                with m.If(xf.conv):
                                    m.next = "CONV"
                                with m.Else():
                                    m.next = "RUN"
                            else:
                                m.next = "RUN"
                with m.State("RUN"):
                    is_ring = xf.x_src == XSource.RING
                    avail = Signal()
                    if self.uses_ring:
                        m.d.comb += avail.eq(~is_ring | (index < received))
                    else:
                        m.d.comb += avail.eq(1)
                    with m.If(room & avail):
                        m.d.sync += [issued.eq(1), issued_ring.eq(is_ring), issued_zero.eq(0), rd_addr.eq(index)]
                        m.d.sync += [xf_k.eq(xf_k + 1), xf_klo.eq(xf_klo + 1)]
                        with m.If(xf_klo == (Const(1, 16) << xf.x_tlog) - 1):
                            m.d.sync += [xf_klo.eq(0), xf_koff.eq(xf_koff + xf.x_tstride)]
                        with m.If(xf_k == xf.k_bound - 1):
                            last = Signal()
                            m.d.sync += [xf_k.eq(0), xf_klo.eq(0), xf_koff.eq(0)]
                            if self.uses_m_outer:
                                with m.If(xf.m_outer):
                                    # pixel-major: row m again for every N tile, then the next row
                                    m.d.sync += xf_nt.eq(xf_nt + 1)
                                    with m.If(xf_nt == xf.n_tiles - 1):
                                        m.d.sync += [xf_nt.eq(0), xf_m.eq(xf_m + 1), xf_row.eq(xf_row + xf.x_stride)]
                                        m.d.comb += last.eq(xf_m == xf.m_bound - 1)
                                        if self.uses_ring:
                                            with m.If(is_ring & xf.x_rows):   # row done: free it
                                                m.d.sync += ring_consumed.eq(xf_row + xf.x_stride)
                            with (m.Else() if self.uses_m_outer else m.If(1)):
                                m.d.sync += [xf_m.eq(xf_m + 1), xf_row.eq(xf_row + xf.x_stride)]
                                with m.If(xf_m == xf.m_bound - 1):
                                    m.d.sync += [xf_m.eq(0), xf_nt.eq(xf_nt + 1), xf_row.eq(xf.x_base)]
                                    m.d.comb += last.eq(xf_nt == xf.n_tiles - 1)
                            with m.If(last):
                                m.d.sync += [xf_i.eq(xf_i + 1), xf_m.eq(0), xf_nt.eq(0)]
                                with m.If(is_ring):
                                    m.d.sync += ring_consumed.eq(xf.x_end)
                                m.next = "NEXT"
                if self.uses_conv:
                    self._conv_reader(m, xf, xf_i, xf_m, xf_nt, room, received if self.uses_ring else None,
                                      ring_consumed, issued, issued_ring, issued_zero, rd_addr)

        # ---------------- off-chip X loader (to the MAC array, or into the line buffer) ----------------
        if self.uses_offchip_x:
            depth_lines = self.x_window_lines
            m.submodules.xlines = xlines = fifo.SyncFIFO(width=8 * B, depth=depth_lines)
            xl_i = Signal(range(n_instr + 1))
            xl = rom_view(xl_i)
            xl_nt = Signal(12)
            xl_m = Signal(12)
            xl_row = Signal(ADDR_BITS)
            xl_rowwise = Signal()      # a pixel-major GEMM operand (a line buffer is loaded in one pass)
            m.d.comb += xl_rowwise.eq(xl.m_outer & (xl.x_src == XSource.OFFCHIP))
            xl_addr = Signal(ADDR_BITS)
            xl_left = Signal(ADDR_BITS)
            reserved = Signal(range(depth_lines + 1))
            xburst = Signal(LEN_BITS)      # registered: this burst's lines, and whether it is the last
            xl_final = Signal()
            m.d.comb += [xlines.w_en.eq(self.rd_x.resp_valid), xlines.w_data.eq(self.rd_x.resp_data)]
            sub = Signal(range(max(B, 2)))
            line_pop = Signal()
            m.d.comb += [ox_valid.eq(xlines.r_rdy), ox_data.eq(xlines.r_data.word_select(sub, 8))]
            with m.If(ox_pop):
                m.d.sync += sub.eq(sub + 1)
                with m.If(sub == B - 1):
                    m.d.sync += sub.eq(0)
                    m.d.comb += [xlines.r_en.eq(1), line_pop.eq(1)]
            granted = Signal()
            m.d.comb += granted.eq(self.rd_x.req_valid & self.rd_x.req_ready)
            m.d.sync += reserved.eq(reserved + Mux(granted, xburst, 0) - line_pop)
            with m.FSM(name="xload"):
                with m.State("NEXT"):
                    with m.If(running & (xl_i < n_instr)):
                        with m.If((xl.x_src != XSource.OFFCHIP) & (xl.x_src != XSource.LINEBUF)):
                            m.d.sync += xl_i.eq(xl_i + 1)
                        with m.Elif(~xl.x_dep | deps_ok(xl_i)):
                            m.d.sync += [xl_nt.eq(0), xl_m.eq(0), xl_row.eq(xl.x_base), xl_addr.eq(xl.x_base),
                                         xl_left.eq(Mux(xl_rowwise, xl.k_bound >> lb, xl.x_end))]
                            m.next = "SIZE"
                with m.State("SIZE"):
                    m.d.sync += [xburst.eq(Mux(xl_left > MAX_BURST, MAX_BURST, xl_left)),
                                 xl_final.eq(xl_left <= MAX_BURST)]
                    m.next = "BURST"
                with m.State("BURST"):
                    m.d.comb += [self.rd_x.req_valid.eq(reserved + xburst <= depth_lines),
                                 self.rd_x.req_addr.eq(xl_addr), self.rd_x.req_len.eq(xburst)]
                    with m.If(granted):
                        m.d.sync += [xl_addr.eq(xl_addr + xburst), xl_left.eq(xl_left - xburst)]
                        m.next = "SIZE"
                        with m.If(xl_final):
                            with m.If(xl_rowwise):
                                # pixel-major: row m once per N tile, then the next row
                                row_lines = xl.k_bound >> lb
                                m.d.sync += [xl_addr.eq(xl_row), xl_left.eq(row_lines), xl_nt.eq(xl_nt + 1)]
                                with m.If(xl_nt == xl.n_tiles - 1):
                                    m.d.sync += [xl_nt.eq(0), xl_m.eq(xl_m + 1), xl_row.eq(xl_row + row_lines),
                                                 xl_addr.eq(xl_row + row_lines)]
                                    with m.If(xl_m == xl.m_bound - 1):
                                        m.d.sync += xl_i.eq(xl_i + 1)
                                        m.next = "NEXT"
                            with m.Else():
                                m.d.sync += [xl_addr.eq(xl.x_base), xl_left.eq(xl.x_end), xl_nt.eq(xl_nt + 1)]
                                # a line buffer is loaded once; an operand stream once per N tile
                                with m.If((xl_nt == xl.n_tiles - 1) | (xl.x_src == XSource.LINEBUF)):
                                    m.d.sync += xl_i.eq(xl_i + 1)
                                    m.next = "NEXT"

        # ---------------- partial sums ----------------
        if self.uses_psum:
            m.submodules.psum = psum = memory.Memory(shape=ACC_BITS * L, depth=self.psum_entries, init=[])
            psum_w = psum.write_port()
            psum_r = psum.read_port()       # synchronous: the MAC pipeline issues it two cycles early

        # ---------------- output group FIFO + writer ----------------
        group_layout = data.StructLayout({"data": 8 * L, "addr": ADDR_BITS, "dst": 2, "half": 1})
        m.submodules.groups = groups = fifo.SyncFIFO(width=group_layout.size, depth=2)
        head = data.View(group_layout, groups.r_data)
        m.d.comb += writer_idle.eq(~groups.r_rdy)
        widx = Signal(range(L + 1))
        with m.If(groups.r_rdy):
            finish = Signal()
            with m.Switch(head.dst):
                if self.uses_spad_y:
                    with m.Case(Dest.SPAD):
                        m.d.comb += [spad_w.en.eq(1), spad_w.addr.eq(head.addr + widx),
                                     spad_w.data.eq(head.data.word_select(widx, 8)),
                                     finish.eq(widx == Mux(head.half, L // 2 - 1, L - 1))]
                        m.d.sync += widx.eq(widx + 1)
                if self.uses_stream_y:
                    with m.Case(Dest.STREAM):
                        m.d.comb += [self.s_out.valid.eq(1), self.s_out.payload.eq(head.data.word_select(widx, 8))]
                        with m.If(self.s_out.ready):
                            m.d.comb += finish.eq(widx == Mux(head.half, L // 2 - 1, L - 1))
                            m.d.sync += widx.eq(widx + 1)
                if self.uses_offchip_y:
                    with m.Case(Dest.OFFCHIP):
                        n_lines = L // B
                        m.d.comb += [self.wr.valid.eq(1), self.wr.addr.eq((head.addr >> lb) + widx),
                                     self.wr.data.eq(head.data.word_select(widx[:max(n_lines.bit_length(), 1)]
                                                                            if n_lines > 1 else 0, 8 * B))]
                        with m.If(self.wr.ready):
                            m.d.comb += finish.eq(widx == Mux(head.half, n_lines // 2 - 1, n_lines - 1))
                            m.d.sync += widx.eq(widx + 1)
                with m.Default():
                    m.d.comb += finish.eq(1)
            with m.If(finish):
                m.d.comb += groups.r_en.eq(1)
                m.d.sync += widx.eq(0)

        # ---------------- MAC array ----------------
        nt = Signal(12)
        mm = Signal(12)
        kk = Signal(12)
        wptr = Signal(CNT_BITS)      # first weight entry of the current tile (conv: of the instruction)
        wofs = Signal(CNT_BITS)      # conv: offset of N tile ``nt`` within the instruction's weights
        y_pix = Signal(ADDR_BITS)    # conv: output address of the current pixel
        psum_addr = Signal(16)
        y_tile = Signal(ADDR_BITS)
        y_row = Signal(ADDR_BITS)
        m.submodules.trace = trace = memory.Memory(shape=CNT_BITS, depth=max(n_instr, 2), init=[])
        trace_w = trace.write_port()
        trace_r = trace.read_port(domain="comb")
        m.d.comb += [trace_r.addr.eq(self.trace_addr), self.trace_data.eq(trace_r.data)]

        x_valid = Signal()
        x_data = Signal(signed(8))
        with m.If(mac.x_src == XSource.OFFCHIP):
            m.d.comb += [x_valid.eq(ox_valid), x_data.eq(ox_data)]
        if xfifo is not None:
            with m.Else():
                m.d.comb += [x_valid.eq(xfifo.r_rdy), x_data.eq(xfifo.r_data)]
        # registered address generation: w_addr = wptr + wofs + kk, w_need = wptr + wofs + K (entries the
        # current tile needs filled), and the loop bounds less one, all kept up to date as the loops step
        w_addr = Signal(CNT_BITS)
        w_need = Signal(CNT_BITS)
        k_last = Signal(12)
        m_last = Signal(12)
        n_last = Signal(12)
        m.d.comb += wbuf_r.addr.eq(w_addr[:max(D.bit_length() - 1, 1)])
        w_ready = Signal()
        m.d.comb += w_ready.eq(w_filled >= w_need)
        last_k = Signal()
        m.d.comb += last_k.eq(kk == k_last)
        # ---------------- MAC pipeline and the landing FIFO its results wait in ----------------
        meta_layout = data.StructLayout({"y_row": ADDR_BITS, "dst": 2, "epi": 1})
        m.submodules.pipe = pipe = MacPipeline(lanes=L, meta_bits=meta_layout.size)
        landing_layout = data.StructLayout({"q": 8 * L, "meta": meta_layout})
        m.submodules.landing = landing = fifo.SyncFIFO(width=landing_layout.size, depth=LANDING_DEPTH)
        m.d.comb += [landing.w_en.eq(pipe.q_valid), landing.w_data.eq(Cat(pipe.q, pipe.q_meta))]
        land = data.View(landing_layout, landing.r_data)
        reserved = Signal(range(LANDING_DEPTH + 1))    # result rows issued or landed, not yet dispatched
        results_quiet = Signal()
        m.d.comb += results_quiet.eq(pipe.empty & (reserved == 0))
        m.d.comb += [pipe.w.eq(wbuf_r.data)]
        if self.uses_psum:
            m.d.comb += [psum_r.addr.eq(pipe.psum_rd_addr), pipe.psum_rd_data.eq(psum_r.data),
                         psum_w.en.eq(pipe.psum_wr_en), psum_w.addr.eq(pipe.psum_wr_addr),
                         psum_w.data.eq(pipe.psum_wr_data)]
        # ---------------- gated epilogue: SiLU(up half) * gate half, on the output stream ----------------
        epi_idle = Signal(init=1)
        epi_ready = Signal()
        epi_push = Signal()
        direct_push = Signal()
        direct_data = Signal(group_layout.size)
        q_all = land.q
        if self.uses_glu:
            from hw.blocks.elementwise_mul import ElementwiseMul
            from hw.blocks.silu import SiLU

            half = L // 2
            m.submodules.silu = silu = SiLU(bits=8, width=half, frac_bits=self.glu_frac_bits)
            m.submodules.gmul = gmul = ElementwiseMul(bits=8, width=half, shift=self.glu_frac_bits)
            m.submodules.gates = gates = fifo.SyncFIFO(width=8 * half, depth=4)
            m.submodules.metas = metas = fifo.SyncFIFO(width=ADDR_BITS + 2, depth=4)
            m.d.comb += [
                epi_idle.eq(~metas.r_rdy),
                epi_ready.eq(silu.i.ready & gates.w_rdy & metas.w_rdy),
                silu.i.valid.eq(epi_push), silu.i.payload.eq(q_all[:8 * half]),
                gates.w_en.eq(epi_push), gates.w_data.eq(q_all[8 * half:]),
                metas.w_en.eq(epi_push), metas.w_data.eq(Cat(land.meta.y_row, land.meta.dst)),
                gmul.a.valid.eq(silu.o.valid), gmul.a.payload.eq(silu.o.payload), silu.o.ready.eq(gmul.a.ready),
                gmul.b.valid.eq(gates.r_rdy), gmul.b.payload.eq(gates.r_data), gates.r_en.eq(gmul.b.ready),
            ]
            # results (with their metadata) enter the group FIFO ahead of any direct push
            with m.If(gmul.o.valid & metas.r_rdy):
                m.d.comb += [groups.w_en.eq(1),
                             groups.w_data.eq(Cat(gmul.o.payload.as_value(), Const(0, 8 * half), metas.r_data,
                                                  Const(1, 1))),
                             gmul.o.ready.eq(groups.w_rdy), metas.r_en.eq(groups.w_rdy)]
            # a direct push only happens while the epilogue is empty (see out_ok), so never together
            with m.If(direct_push):
                m.d.comb += [groups.w_en.eq(1), groups.w_data.eq(direct_data)]
        elif self.softmax_row is not None:
            # ---------------- row-softmax epilogue: whole rows (pixel-major tiles) through the SFU ----------------
            from hw.blocks.softmax import Softmax

            beats = self.softmax_row // L
            m.submodules.softmax = sm = Softmax(bits=8, width=L, row_len=self.softmax_row,
                                                in_frac_bits=self.softmax_frac_bits, valid=self.softmax_valid)
            m.submodules.metas = metas = fifo.SyncFIFO(width=ADDR_BITS + 2, depth=beats + 1)
            m.d.comb += [
                epi_idle.eq(~metas.r_rdy),
                epi_ready.eq(sm.i.ready & metas.w_rdy),
                sm.i.valid.eq(epi_push), sm.i.payload.eq(q_all),
                metas.w_en.eq(epi_push), metas.w_data.eq(Cat(land.meta.y_row, land.meta.dst)),
            ]
            with m.If(sm.o.valid & metas.r_rdy):
                m.d.comb += [groups.w_en.eq(1),
                             groups.w_data.eq(Cat(sm.o.payload.as_value(), metas.r_data, Const(0, 1))),
                             sm.o.ready.eq(groups.w_rdy), metas.r_en.eq(groups.w_rdy)]
            with m.If(direct_push):
                m.d.comb += [groups.w_en.eq(1), groups.w_data.eq(direct_data)]
        else:
            with m.If(direct_push):
                m.d.comb += [groups.w_en.eq(1), groups.w_data.eq(direct_data)]
        m.d.comb += epi_quiet.eq(epi_idle & results_quiet)
        m.d.comb += self.retired.eq(Mux(writer_idle & epi_idle & results_quiet, mac_i, 0))
        # the landing FIFO's head goes to the epilogue or straight to the writer (behind the epilogue)
        dispatch = Signal()
        with m.If(landing.r_rdy):
            with m.If(land.meta.epi):
                m.d.comb += [dispatch.eq(epi_ready), epi_push.eq(epi_ready)]
            with m.Else():
                m.d.comb += [dispatch.eq(groups.w_rdy & epi_idle), direct_push.eq(groups.w_rdy & epi_idle),
                             direct_data.eq(Cat(land.q, land.meta.y_row, land.meta.dst, Const(0, 1)))]
        m.d.comb += landing.r_en.eq(dispatch)
        step = Signal()
        result_row = Signal()     # this step completes a row whose results need a landing slot
        m.d.comb += result_row.eq(last_k & ~mac.acc_out)
        m.d.sync += reserved.eq(reserved + (step & result_row) - dispatch)
        m.d.comb += [pipe.issue.eq(step), pipe.x.eq(x_data), pipe.first.eq(kk == 0), pipe.last.eq(last_k),
                     pipe.init.eq(mac.acc_init), pipe.to_psum.eq(mac.acc_out), pipe.shift.eq(mac.shift),
                     pipe.relu.eq(mac.relu), pipe.psum_addr.eq(psum_addr),
                     pipe.meta.eq(Cat(y_row, mac.dst, mac.glu | mac.softmax))]
        pop_x = Signal()
        with m.If(pop_x):
            with m.If(mac.x_src == XSource.OFFCHIP):
                if not self.uses_linebuf:
                    m.d.comb += ox_pop.eq(1)
            if xfifo is not None:
                with m.Else():
                    m.d.comb += xfifo.r_en.eq(1)

        with m.FSM(name="mac") as mac_fsm:
            with m.State("IDLE"):
                with m.If(self.start):
                    m.next = "DECODE"
            with m.State("DECODE"):
                # partial sums another instruction is still writing are read only once it has written them
                with m.If(~mac_rom.acc_init | pipe.empty):
                    m.d.sync += self.reconf.eq(self.reconf + 1)
                    m.d.sync += [mac.eq(mac_rom), nt.eq(0), mm.eq(0), kk.eq(0), psum_addr.eq(mac_rom.psum_base),
                                 wofs.eq(0), y_tile.eq(mac_rom.y_base), y_row.eq(mac_rom.y_base),
                                 y_pix.eq(mac_rom.y_base), w_addr.eq(wptr), w_need.eq(wptr + mac_rom.k_bound),
                                 k_last.eq(mac_rom.k_bound - 1), m_last.eq(mac_rom.m_bound - 1),
                                 n_last.eq(mac_rom.n_tiles - 1)]
                    m.next = "RUN"
            with m.State("RUN"):
                m.d.comb += step.eq(x_valid & w_ready & (~result_row | (reserved < LANDING_DEPTH)))
                with m.If(step):
                    m.d.comb += pop_x.eq(1)
                    m.d.sync += self.busy.eq(self.busy + 1)
                    m.d.sync += [kk.eq(kk + 1), w_addr.eq(w_addr + 1)]
                    with m.If(last_k):
                        m.d.sync += kk.eq(0)
                        instr_done = Signal()
                        with m.If(mac.conv | mac.m_outer):
                            # pixel-major: every N tile of pixel mm, then the next pixel
                            with m.If(nt == n_last):
                                m.d.sync += [nt.eq(0), wofs.eq(0), mm.eq(mm + 1), y_pix.eq(y_pix + mac.y_stride),
                                             y_row.eq(y_pix + mac.y_stride), w_addr.eq(wptr),
                                             w_need.eq(wptr + k_last + 1)]
                                with m.If(mm == m_last):
                                    m.d.comb += instr_done.eq(1)
                                    m.d.sync += [wptr.eq(wptr + wofs + mac.k_bound),
                                                 w_released.eq(w_released + wofs + mac.k_bound)]
                            with m.Else():
                                m.d.sync += [nt.eq(nt + 1), wofs.eq(wofs + mac.k_bound),
                                             y_row.eq(y_row + mac.y_tinc), w_need.eq(w_need + k_last + 1)]
                        with m.Else():
                            m.d.sync += [mm.eq(mm + 1), psum_addr.eq(psum_addr + 1),
                                         y_row.eq(y_row + mac.y_stride), w_addr.eq(wptr)]
                            with m.If(mm == m_last):
                                m.d.sync += [mm.eq(0), nt.eq(nt + 1), wptr.eq(wptr + mac.k_bound),
                                             w_released.eq(w_released + mac.k_bound),
                                             y_tile.eq(y_tile + mac.y_tinc), y_row.eq(y_tile + mac.y_tinc),
                                             w_addr.eq(w_addr + 1), w_need.eq(w_need + k_last + 1)]
                                with m.If(nt == n_last):
                                    m.d.comb += instr_done.eq(1)
                        with m.If(instr_done):
                            m.d.comb += [trace_w.en.eq(1), trace_w.addr.eq(mac_i), trace_w.data.eq(self.cycle)]
                            m.d.sync += mac_i.eq(mac_i + 1)
                            with m.If(mac_i == n_instr - 1):
                                m.next = "DONE"
                            with m.Else():
                                m.next = "DECODE"
                with m.Else():
                    m.d.sync += self.stall.eq(self.stall + 1)
            with m.State("DONE"):
                m.d.comb += self.done.eq(writer_idle & epi_idle & results_quiet)
        return m

    # ------------------------------------------------------------------------------------------------
    def _conv_reader(self, m: Module, xf: data.View, xf_i: Signal, xf_m: Signal, xf_nt: Signal, room: Signal,
                     received: Signal | None, ring_consumed: Signal, issued: Signal, issued_ring: Signal,
                     issued_zero: Signal, rd_addr: Signal) -> None:
        """The X reader's ``CONV`` state: im2col operand addresses (see :class:`Instruction`).

        Per output pixel ``(oy, ox)`` and N tile it walks taps ``(ky, kx)`` and channels ``c``; a tap
        outside the (upsampled) map pushes a zero without a memory read. Ring sources wait for the
        element to arrive and release whole input rows once no later output row needs them."""
        with m.State("CONV"):
            oy = Signal(12)
            ox = Signal(12)
            ky = Signal(2)
            kx = Signal(2)
            ch = Signal(12)
            iy1 = Signal(14)      # source row + 1 in the upsampled, unpadded map (0 = top padding)
            ix1 = Signal(14)
            m.d.comb += [iy1.eq((oy << xf.s_log) + ky), ix1.eq((ox << xf.s_log) + kx)]
            inside = Signal()
            m.d.comb += inside.eq((iy1 >= 1) & (iy1 <= (xf.in_h << xf.up)) & (ix1 >= 1) & (ix1 <= (xf.in_w << xf.up)))
            row = Signal(12)
            col = Signal(12)
            m.d.comb += [row.eq((iy1 - 1) >> xf.up), col.eq((ix1 - 1) >> xf.up)]
            is_ring = Signal()
            m.d.comb += is_ring.eq(xf.x_src != XSource.SPAD)
            addr = Signal(ADDR_BITS)
            m.d.comb += addr.eq(Mux(is_ring, xf.r_base, xf.x_base) + (row * xf.in_w + col) * xf.in_c + ch)
            avail = Signal()
            if received is not None:
                m.d.comb += avail.eq(~is_ring | ~inside | (addr < received))
            else:
                m.d.comb += avail.eq(1)
            with m.If(room & avail):
                m.d.sync += [issued.eq(1), issued_ring.eq(is_ring), issued_zero.eq(~inside), rd_addr.eq(addr)]
                m.d.sync += ch.eq(ch + 1)
                with m.If(ch == xf.in_c - 1):
                    m.d.sync += [ch.eq(0), kx.eq(kx + 1)]
                    with m.If(kx == 2):
                        m.d.sync += [kx.eq(0), ky.eq(ky + 1)]
                        with m.If(ky == 2):
                            m.d.sync += [ky.eq(0), xf_nt.eq(xf_nt + 1)]
                            with m.If(xf_nt == xf.n_tiles - 1):
                                m.d.sync += [xf_nt.eq(0), xf_m.eq(xf_m + 1), ox.eq(ox + 1)]
                                with m.If(ox == xf.out_w - 1):
                                    m.d.sync += [ox.eq(0), oy.eq(oy + 1)]
                                    # rows above the next output row's window are no longer needed
                                    first = ((oy + 1) << xf.s_log) - 1
                                    with m.If(is_ring):
                                        m.d.sync += ring_consumed.eq(
                                            xf.r_base + ((first >> xf.up) * xf.in_w) * xf.in_c)
                                with m.If(xf_m == xf.m_bound - 1):
                                    m.d.sync += [oy.eq(0), ox.eq(0), xf_i.eq(xf_i + 1)]
                                    with m.If(is_ring):
                                        m.d.sync += ring_consumed.eq(xf.r_end)
                                    m.next = "NEXT"
