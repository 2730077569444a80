"""The compute core: an L-lane output-stationary MAC array driven by an instruction ROM.

Per cycle the core broadcasts one int8 X element to ``L`` lanes and multiplies it with one word of ``L``
int8 weights, accumulating in 32 bits. After ``k_bound`` cycles the ``L`` accumulators are either stored
as partial sums or requantised (arithmetic shift, saturation to int8, optional ReLU) and handed to the
output writer. Loops run ``for nt: for m: for k`` (output-stationary per N tile) or, for convolutions and
``m_outer`` GEMMs, pixel-major ``for m: for nt: for k`` with all of the task's weight tiles resident.

The core is a composition of units, each a ``wiring.Component`` in its own module and each stepping
through the program on its own port of the :class:`~hw.core.instruction_rom.InstructionRom`:

- :class:`~hw.core.weight_fetcher.WeightFetcher` streams weight tiles into the circular weight buffer
  (as many tiles ahead as it holds; dynamic weights wait on another core's ``retired`` count);
- :class:`~hw.core.x_reader.XReader` reads operands from the scratchpad or the stream-in ring (im2col
  addressing for convolutions, waiting for ring elements and releasing them as it goes);
- :class:`~hw.core.x_loader.XLoader` streams operands from off-chip, or a convolution's input into the
  ring (line buffer);
- :class:`~hw.core.mac_sequencer.MacSequencer` runs the loop nest and issues one step per cycle into
  :class:`~hw.core.mac_pipeline.MacPipeline` (registered multiplies, accumulate and requantise);
- :class:`~hw.core.epilogue.Epilogue` holds the result rows that land behind the pipeline and runs the
  optional SiLU-times-gate or row-softmax epilogue;
- :class:`~hw.core.output_writer.OutputWriter` writes result groups to the scratchpad, the stream-out
  port or off-chip lines.

This module validates the program against the core's sizes, builds only the units and memories that the
program uses (a core that never reads off-chip X has no X loader, one that never streams out has no
stream port, and so on) and wires them together with the scratchpad, the ring and the partial sums.
A core decodes its next instruction when the MAC array finishes a task (one reconfiguration cycle,
counted).
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.core.epilogue import META_LAYOUT, Epilogue
from hw.core.instruction_rom import InstructionRom
from hw.core.isa import Dest, Instruction, XSource
from hw.core.mac_pipeline import ACC_BITS, MacPipeline
from hw.core.mac_sequencer import MacSequencer
from hw.core.memory_system import MAX_BURST, read_client_signature, write_client_signature
from hw.core.output_writer import OutputWriter
from hw.core.stress import random_stall
from hw.core.units import CNT_BITS, log2_exact
from hw.core.weight_fetcher import WeightFetcher
from hw.core.x_loader import XLoader
from hw.core.x_reader import XReader
from hw.errors import HwError

__all__ = ["CNT_BITS", "GemmCore"]


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
        log2_exact(lanes, f"core {name}: lanes")
        log2_exact(words_per_line, "words_per_line")
        if lanes % words_per_line:
            raise HwError(f"lanes ({lanes}) must be a multiple of the off-chip words per cycle "
                          f"({words_per_line})", source=f"core {name}: lanes")
        log2_exact(wbuf_entries, f"core {name}: weight buffer entries")
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
        log2_exact(x_window_lines, f"core {name}: X loader lines")
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
            log2_exact(ring_words, f"core {name}: ring words")
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
        n_instr = len(self.program)

        running = Signal()
        with m.If(self.start):
            m.d.sync += running.eq(1)

        # ---------------- the units, each stepping through the program on its own ROM port ----------------
        reader_needed = self.uses_spad_x or self.uses_ring
        m.submodules.rom = rom = InstructionRom(program=self.program,
                                                readers=2 + reader_needed + self.uses_offchip_x)
        ports = iter(rom.ports)
        m.submodules.wfetch = wfetch = WeightFetcher(lanes=L, words_per_line=B, depth=self.wbuf_entries,
                                                     n_instr=n_instr, peers=self.peers if self.uses_wdep else 0)
        m.submodules.seq = seq = MacSequencer(n_instr=n_instr, wbuf_entries=self.wbuf_entries, x_chip=reader_needed,
                                              x_offchip=self.uses_offchip_x and not self.uses_linebuf)
        m.submodules.pipe = pipe = MacPipeline(lanes=L, meta_bits=META_LAYOUT.size)
        kind = "glu" if self.uses_glu else "softmax" if self.softmax_row is not None else "none"
        m.submodules.epilogue = epilogue = Epilogue(lanes=L, kind=kind, glu_frac_bits=self.glu_frac_bits,
                                                    softmax_row=self.softmax_row or 0,
                                                    softmax_frac_bits=self.softmax_frac_bits,
                                                    softmax_valid=self.softmax_valid)
        m.submodules.writer = writer = OutputWriter(lanes=L, words_per_line=B, spad=self.uses_spad_y,
                                                    stream_out=self.uses_stream_y, offchip=self.uses_offchip_y)
        quiet = Signal()      # every result issued so far is written
        m.d.comb += quiet.eq(pipe.empty & epilogue.idle & writer.idle)
        # operand readers waiting on earlier results (``x_dep``) see the MAC array's instruction and ``quiet``
        # of the previous cycle, a consistent snapshot: every earlier instruction's results were written then
        written = Signal()
        mac_index = Signal.like(seq.index)
        m.d.sync += [written.eq(quiet), mac_index.eq(seq.index)]

        # weights: fetcher -> weight buffer -> MAC pipeline
        wiring.connect(m, wfetch.instr, next(ports))
        wiring.connect(m, wfetch.rd_w, wiring.flipped(self.rd_w))
        m.d.comb += [wfetch.running.eq(running), wfetch.released.eq(seq.w_released), wfetch.rd_addr.eq(seq.w_addr),
                     seq.w_filled.eq(wfetch.filled), seq.entry_filled.eq(wfetch.entry_filled), pipe.w.eq(wfetch.rd_data)]
        if self.uses_wdep:
            for j in range(self.peers):
                m.d.comb += wfetch.peer_retired[j].eq(self.peer_retired[j])

        # the MAC sequencer drives the pipeline; results land behind it and go through the epilogue to the writer
        wiring.connect(m, seq.instr, next(ports))
        m.d.comb += [seq.start.eq(self.start), seq.cycle.eq(self.cycle), seq.trace_addr.eq(self.trace_addr),
                     self.trace_data.eq(seq.trace_data), seq.pipe_empty.eq(pipe.empty), seq.quiet.eq(quiet),
                     seq.room.eq(epilogue.room), epilogue.reserve.eq(seq.reserve),
                     self.done.eq(seq.done), self.retired.eq(seq.retired),
                     self.busy.eq(seq.busy), self.stall.eq(seq.stall), self.reconf.eq(seq.reconf)]
        for name in ("issue", "x", "first", "last", "init", "to_psum", "shift", "relu", "psum_addr", "meta"):
            m.d.comb += getattr(pipe, name).eq(getattr(seq, name))
        m.d.comb += [epilogue.q_valid.eq(pipe.q_valid), epilogue.q.eq(pipe.q), epilogue.meta.eq(pipe.q_meta)]
        wiring.connect(m, epilogue.groups, writer.groups)
        if self.uses_psum:
            m.submodules.psum = psum = memory.Memory(shape=ACC_BITS * L, depth=self.psum_entries, init=[])
            psum_w = psum.write_port()
            psum_r = psum.read_port()       # synchronous: the MAC pipeline issues it ahead
            m.d.comb += [psum_r.addr.eq(pipe.psum_rd_addr), pipe.psum_rd_data.eq(psum_r.data),
                         psum_w.en.eq(pipe.psum_wr_en), psum_w.addr.eq(pipe.psum_wr_addr),
                         psum_w.data.eq(pipe.psum_wr_data)]

        # on-chip memories the reader reads: the scratchpad (written by the writer) and the ring
        if self.uses_spad_x or self.uses_spad_y:
            m.submodules.spad = spad = memory.Memory(shape=8, depth=self.spad_words, init=[])
            if self.uses_spad_y:
                spad_w = spad.write_port()
                m.d.comb += [spad_w.en.eq(writer.spad_en), spad_w.addr.eq(writer.spad_addr),
                             spad_w.data.eq(writer.spad_data)]
        if self.uses_stream_y:
            wiring.connect(m, writer.s_out, wiring.flipped(self.s_out))
        if self.uses_offchip_y:
            wiring.connect(m, writer.wr, wiring.flipped(self.wr))
        loader = None
        if self.uses_offchip_x:
            m.submodules.xload = loader = XLoader(words_per_line=B, n_instr=n_instr, window_lines=self.x_window_lines)
            wiring.connect(m, loader.instr, next(ports))
            wiring.connect(m, loader.rd_x, wiring.flipped(self.rd_x))
            m.d.comb += [loader.running.eq(running), loader.mac_index.eq(mac_index), loader.results_written.eq(written)]
            if not self.uses_linebuf:
                wiring.connect(m, loader.x, seq.x_offchip)
        if reader_needed:
            m.submodules.xread = reader = XReader(n_instr=n_instr, spad=self.uses_spad_x, ring=self.uses_ring,
                                                  conv=self.uses_conv, m_outer=self.uses_m_outer)
            wiring.connect(m, reader.instr, next(ports))
            wiring.connect(m, reader.x, seq.x_chip)
            m.d.comb += [reader.running.eq(running), reader.mac_index.eq(mac_index), reader.results_written.eq(written)]
            if self.uses_spad_x:
                spad_r = spad.read_port()
                m.d.comb += [spad_r.addr.eq(reader.read_addr), reader.spad_data.eq(spad_r.data)]
            if self.uses_ring:
                self._ring(m, reader, loader)
        return m

    def _ring(self, m: Module, reader: XReader, loader: XLoader | None) -> None:
        """The ring the reader reads: filled from the stream-in port or, as a line buffer, by the X loader."""
        R = self.ring_words
        ring_bits = log2_exact(R, f"core {self.core_name}: ring words")
        m.submodules.ring = ring = memory.Memory(shape=8, depth=R, init=[])
        ring_w = ring.write_port()
        ring_r = ring.read_port()
        m.d.comb += [ring_r.addr.eq(reader.read_addr[:ring_bits] if R > 1 else 0), reader.ring_data.eq(ring_r.data)]
        received = Signal(CNT_BITS)
        m.d.comb += [reader.received.eq(received), ring_w.addr.eq(received[:ring_bits] if R > 1 else 0)]
        # "a slot is free" from registers: the fill level as of the previous cycle's release, with and without
        # the previous cycle's write (a release seen a cycle late only delays the next write)
        room = Signal()
        room_if_idle = Signal()
        room_if_write = Signal()
        wrote = Signal()
        m.d.sync += [room_if_idle.eq(received - reader.ring_consumed < R),
                     room_if_write.eq(received - reader.ring_consumed + 1 < R), wrote.eq(ring_w.en)]
        m.d.comb += room.eq(Mux(wrote, room_if_write, room_if_idle))
        fill = Signal()
        if self.uses_linebuf:
            # the X loader's elements go into the ring (line buffer), one per cycle
            m.d.comb += [fill.eq(loader.x.valid & room), loader.x.ready.eq(fill)]
            with m.If(fill):
                m.d.comb += [ring_w.en.eq(1), ring_w.data.eq(loader.x.payload)]
                m.d.sync += received.eq(received + 1)
        if self.uses_stream_in:
            rx_stall = random_stall(m, seed=self.seed * 7 + 3, enable=self.stress, name="rx")
            m.d.comb += self.s_in.ready.eq(room & ~rx_stall & ~fill)
            with m.If(self.s_in.valid & self.s_in.ready):
                m.d.comb += [ring_w.en.eq(1), ring_w.data.eq(self.s_in.payload)]
                m.d.sync += received.eq(received + 1)
