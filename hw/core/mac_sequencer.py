"""The MAC sequencer: the loop nest that drives the MAC pipeline, one step per cycle.

Per instruction it runs ``for nt: for m: for k`` (output-stationary per N tile), or pixel-major
``for m: for nt: for k`` for convolutions and ``m_outer`` GEMMs (all the instruction's weight tiles
resident). A *step* issues one MAC: it pops one X operand, reads weight entry ``w_addr`` of the weight
buffer (synchronous; the word reaches the pipeline a cycle later) and tells the pipeline what to do
with the row it completes. A step waits for its operand, for its weight tile to be filled, and, if it
completes a result row, for a landing slot behind the pipeline (``room``).

Decoding an instruction takes one cycle (``reconf``); an instruction that starts from partial sums
waits until the pipeline is empty (another instruction may still be writing them). When the last
instruction is done the core is done once every result is written (``quiet``).

Everything a step decides on is a register or a compare of registers, so the paths into the step and
the loop state are short:

- the instruction ROM is read a cycle ahead (its port reads the next instruction while running);
- operands arrive through a register slice per source (valid, data and the source's ready are
  flip-flops), so the step's decision never reaches back into the X reader's or loader's FIFO;
- the weight address, the loop bounds less one and "this is the last ``k``" are kept in registers;
- "the tile is filled" is the sign of a register ``margin = filled - needed`` that moves by the
  entries that arrive and by the tile size when the loops move to another tile, instead of a 32-bit
  compare of the fill count against the tile's end in the cycle of the step;
- "this is the last N tile / row / instruction" are flags registered when their counters move (the
  compare is made on the way into the register), so the end of an instruction and the FSM's next state
  are one gate after the step, not a 12-bit compare;
- the per-instruction trace (the cycle at which it finished) is written a cycle after it finishes, and
  read back through a synchronous port (``trace_data`` a cycle after ``trace_addr``), so it maps to
  block RAM.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.blocks.pipeline import register_slice
from hw.core.epilogue import META_LAYOUT
from hw.core.instruction_rom import index_shape, instruction_port_signature
from hw.core.isa import ADDR_BITS, INSTR_LAYOUT, XSource
from hw.core.mac_pipeline import PSUM_ADDR_BITS
from hw.core.units import CNT_BITS, log2_exact
from hw.errors import HwError


class MacSequencer(wiring.Component):
    """The MAC array's loop nest (see the module docstring).

    Parameters
    ----------
    n_instr : int
        Instructions in the program.
    wbuf_entries : int
        Weight buffer entries (a power of two): ``w_addr`` is an entry modulo this.
    x_chip, x_offchip : bool
        Whether operands come from the X reader (``x_chip``) and/or the off-chip X loader.

    Attributes
    ----------
    start : In(1)
        Begin (level; hold high).
    instr : Out(instruction_port_signature)
        The sequencer's instruction ROM port.
    index : Out
        The instruction being executed (``n_instr`` when all are).
    x_chip, x_offchip : In(stream.Signature(signed(8))) (as configured)
        Operands from the X reader / the X loader.
    w_filled : In(32), entry_filled : In(1)
        Weight entries written: ``w_filled + entry_filled`` (see :class:`hw.core.weight_fetcher.WeightFetcher`).
    w_addr : Out, w_released : Out(32)
        The weight entry the step reads, and entries the array has finished with.
    issue, x, first, last, init, to_psum, shift, relu, psum_addr, meta : Out
        The step, to :class:`hw.core.mac_pipeline.MacPipeline` (``meta`` in ``META_LAYOUT``).
    pipe_empty : In(1)
        No step in the pipeline.
    reserve : Out(1), room : In(1)
        A step completes a result row and takes a landing slot; a slot is free.
    quiet : In(1)
        Every result issued so far is written (pipeline, landing, epilogue and writer empty).
    done : Out(1)
        All instructions executed and all results written.
    retired : Out(12)
        Instructions executed with their results written (0 while results are in flight).
    busy, stall, reconf : Out(32)
        Cycles that stepped, that waited while running, and that decoded an instruction.
    cycle : In(32), trace_addr : In, trace_data : Out(32)
        The cycle counter, and the trace: the cycle at which instruction ``trace_addr`` finished
        (``trace_data`` follows ``trace_addr`` a cycle later).
    """

    def __init__(self, *, n_instr: int, wbuf_entries: int, x_chip: bool, x_offchip: bool) -> None:
        if not isinstance(n_instr, int) or n_instr < 1:
            raise HwError(f"must be a positive integer, not {n_instr!r}", source="MacSequencer: n_instr")
        log2_exact(wbuf_entries, "MacSequencer: wbuf_entries")
        self.n_instr, self.wbuf_entries = n_instr, wbuf_entries
        self.reads_chip, self.reads_offchip = bool(x_chip), bool(x_offchip)
        self.w_addr_bits = max(wbuf_entries.bit_length() - 1, 1)
        sig = {
            "start": In(1), "instr": Out(instruction_port_signature(n_instr)), "index": Out(index_shape(n_instr)),
            "w_filled": In(CNT_BITS), "entry_filled": In(1), "w_addr": Out(self.w_addr_bits),
            "w_released": Out(CNT_BITS),
            "issue": Out(1), "x": Out(signed(8)), "first": Out(1), "last": Out(1), "init": Out(1),
            "to_psum": Out(1), "shift": Out(5), "relu": Out(1), "psum_addr": Out(PSUM_ADDR_BITS),
            "meta": Out(META_LAYOUT), "pipe_empty": In(1),
            "reserve": Out(1), "room": In(1), "quiet": In(1),
            "done": Out(1), "retired": Out(12), "busy": Out(CNT_BITS), "stall": Out(CNT_BITS), "reconf": Out(CNT_BITS),
            "cycle": In(CNT_BITS), "trace_addr": In(range(max(n_instr, 2))), "trace_data": Out(CNT_BITS),
        }
        if x_chip:
            sig["x_chip"] = In(stream.Signature(signed(8)))
        if x_offchip:
            sig["x_offchip"] = In(stream.Signature(signed(8)))
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        n_instr = self.n_instr
        rom = self.instr.data                 # ROM[index] in DECODE (see the prefetch below)
        cur = Signal(INSTR_LAYOUT)            # the running instruction, registered when it is decoded
        index = self.index

        # the per-instruction trace: written a cycle after the instruction finished
        m.submodules.trace = trace = memory.Memory(shape=CNT_BITS, depth=max(n_instr, 2), init=[])
        trace_w = trace.write_port()
        trace_r = trace.read_port(transparent_for=())     # read back by the testbench after the run
        m.d.comb += [trace_r.addr.eq(self.trace_addr), self.trace_data.eq(trace_r.data)]
        instr_done = Signal()
        m.d.sync += [trace_w.en.eq(instr_done), trace_w.addr.eq(index), trace_w.data.eq(self.cycle)]

        # operands: from the X loader for OFFCHIP instructions, else from the X reader, each through its
        # own register slice (a slice per source: one never holds the other source's next operand)
        x_valid = Signal()
        pop = Signal()
        offchip = Signal()                    # the running instruction reads off-chip operands, registered
        sources = [(offchip, self.x_offchip, "x_offchip")] if self.reads_offchip else []
        if self.reads_chip:
            sources.append((~offchip, self.x_chip, "x_chip"))
        for selected, source, name in sources:
            ready, valid, payload = register_slice(m, source.valid, source.payload, pop & selected, name=name)
            m.d.comb += source.ready.eq(ready)
            with m.If(selected):
                m.d.comb += [x_valid.eq(valid), self.x.eq(payload)]

        nt = Signal(12)
        mm = Signal(12)
        kk = Signal(12)
        k_last = Signal(12)
        m_last = Signal(12)
        n_last = Signal(12)
        last_k = Signal()                     # kk == k_last, registered
        last_n = Signal()                     # nt == n_last, registered
        last_m = Signal()                     # mm == m_last, registered
        last_instr = Signal(init=n_instr == 1)    # index == n_instr - 1, registered
        wptr = Signal(CNT_BITS)               # first weight entry of the current tile (pixel-major: of the instruction)
        wofs = Signal(CNT_BITS)               # pixel-major: offset of N tile ``nt`` within the instruction's weights
        k_size_neg = Signal(signed(13))       # -(k_last + 1): a row's weight entries, negated
        w_addr = Signal(CNT_BITS)             # wptr + wofs + kk
        margin = Signal(signed(CNT_BITS + 1))   # filled - (wptr + wofs + k_bound): the tile is filled when >= 0
        y_pix = Signal(ADDR_BITS)             # pixel-major: output address of the current pixel
        y_tile = Signal(ADDR_BITS)
        y_row = Signal(ADDR_BITS)
        psum_addr = Signal(PSUM_ADDR_BITS)
        m.d.comb += self.w_addr.eq(w_addr)

        step = Signal()
        result_row = Signal()                 # this step completes a row whose results need a landing slot
        m.d.comb += result_row.eq(last_k & ~cur.acc_out)
        pixel_major = cur.conv | cur.m_outer
        # how far the tile the loops move to after this row ends is beyond the current one (entries),
        # negated: a selection among registers (no negation or carry chain in front of the margin's adder)
        need_neg = Signal(signed(CNT_BITS + 1))
        m.d.comb += need_neg.eq(Mux(pixel_major, Mux(last_n, wofs, k_size_neg), Mux(last_m, k_size_neg, 0)))
        # both next margins are computed from registers; the step only selects one (no carry chain after it)
        kept = Signal.like(margin)
        moved = Signal.like(margin)
        m.d.comb += [kept.eq(margin + self.entry_filled), moved.eq(margin + need_neg + self.entry_filled)]
        m.d.sync += margin.eq(Mux(step & last_k, moved, kept))

        m.d.comb += [
            self.issue.eq(step), self.first.eq(kk == 0), self.last.eq(last_k), self.init.eq(cur.acc_init),
            self.to_psum.eq(cur.acc_out), self.shift.eq(cur.shift), self.relu.eq(cur.relu),
            self.psum_addr.eq(psum_addr), self.meta.y_row.eq(y_row), self.meta.dst.eq(cur.dst),
            self.meta.epi.eq(cur.glu | cur.softmax), self.reserve.eq(step & result_row),
            self.retired.eq(Mux(self.quiet, index, 0)),
        ]

        with m.FSM(name="mac") as fsm:
            with m.State("IDLE"):
                with m.If(self.start):
                    m.next = "DECODE"
            with m.State("DECODE"):
                m.d.sync += margin.eq((self.w_filled + self.entry_filled) - (wptr + rom.k_bound))
                # partial sums another instruction is still writing are read only once it has written them
                with m.If(~rom.acc_init | self.pipe_empty):
                    m.d.sync += [self.reconf.eq(self.reconf + 1),
                                 cur.eq(rom), offchip.eq(rom.x_src == XSource.OFFCHIP), k_size_neg.eq(-rom.k_bound),
                                 nt.eq(0), mm.eq(0), kk.eq(0), psum_addr.eq(rom.psum_base),
                                 wofs.eq(0), y_tile.eq(rom.y_base), y_row.eq(rom.y_base), y_pix.eq(rom.y_base),
                                 w_addr.eq(wptr), last_k.eq(rom.k_bound == 1),
                                 last_n.eq(rom.n_tiles == 1), last_m.eq(rom.m_bound == 1),
                                 k_last.eq(rom.k_bound - 1), m_last.eq(rom.m_bound - 1), n_last.eq(rom.n_tiles - 1)]
                    m.next = "RUN"
            with m.State("RUN"):
                m.d.comb += step.eq(x_valid & ~margin[-1] & (~result_row | self.room))
                with m.If(step):
                    m.d.comb += pop.eq(1)
                    m.d.sync += [self.busy.eq(self.busy + 1), kk.eq(kk + 1), w_addr.eq(w_addr + 1),
                                 last_k.eq(kk + 1 == k_last)]
                    with m.If(last_k):
                        m.d.sync += [kk.eq(0), last_k.eq(k_last == 0)]
                        self._next_row(m, cur, pixel_major, nt, mm, n_last, m_last, k_last, last_n, last_m, wptr,
                                       wofs, w_addr, y_pix, y_tile, y_row, psum_addr)
                        m.d.comb += instr_done.eq(last_n & last_m)
                        with m.If(instr_done):
                            m.d.sync += [index.eq(index + 1), last_instr.eq(index + 1 == n_instr - 1)]
                            with m.If(last_instr):
                                m.next = "DONE"
                            with m.Else():
                                m.next = "DECODE"
                with m.Else():
                    m.d.sync += self.stall.eq(self.stall + 1)
            with m.State("DONE"):
                m.d.comb += self.done.eq(self.quiet & ~trace_w.en)     # the last trace entry is written
        # prefetch: while running, the ROM reads the next instruction, which DECODE then sees
        m.d.comb += self.instr.addr.eq(index + fsm.ongoing("RUN"))
        return m

    def _next_row(self, m: Module, cur, pixel_major, nt, mm, n_last, m_last, k_last, last_n, last_m, wptr, wofs,
                  w_addr, y_pix, y_tile, y_row, psum_addr) -> None:
        """A row of ``k`` steps ends: move to the next N tile or row, and release finished weight tiles.

        The instruction ends with the row that is both its last N tile and its last row, in either
        order; ``last_n``/``last_m`` follow ``nt``/``mm`` (the caller ends the instruction)."""
        with m.If(pixel_major):
            # pixel-major: every N tile of pixel mm, then the next pixel
            with m.If(last_n):
                m.d.sync += [nt.eq(0), last_n.eq(n_last == 0), wofs.eq(0), mm.eq(mm + 1),
                             last_m.eq(mm + 1 == m_last), y_pix.eq(y_pix + cur.y_stride),
                             y_row.eq(y_pix + cur.y_stride), w_addr.eq(wptr)]
                with m.If(last_m):
                    m.d.sync += [wptr.eq(wptr + wofs + k_last + 1),
                                 self.w_released.eq(self.w_released + wofs + k_last + 1)]
            with m.Else():
                m.d.sync += [nt.eq(nt + 1), last_n.eq(nt + 1 == n_last), wofs.eq(wofs + k_last + 1),
                             y_row.eq(y_row + cur.y_tinc)]
        with m.Else():
            m.d.sync += [mm.eq(mm + 1), last_m.eq(mm + 1 == m_last), psum_addr.eq(psum_addr + 1),
                         y_row.eq(y_row + cur.y_stride), w_addr.eq(wptr)]
            with m.If(last_m):
                m.d.sync += [mm.eq(0), last_m.eq(m_last == 0), nt.eq(nt + 1), last_n.eq(nt + 1 == n_last),
                             wptr.eq(wptr + k_last + 1), self.w_released.eq(self.w_released + k_last + 1),
                             y_tile.eq(y_tile + cur.y_tinc), y_row.eq(y_tile + cur.y_tinc), w_addr.eq(w_addr + 1)]
