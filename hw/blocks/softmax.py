"""Row softmax approximation: exp lookup table on (rowmax - x), row sum, iterative reciprocal."""

from __future__ import annotations

import operator

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import fifo, memory, wiring
from amaranth.lib.wiring import In, Out

from hw.blocks.params import check_bits, check_int, check_multiple, check_width, validated
from hw.blocks.pipeline import reduce_tree
from hw.blocks.vectors import maximum, vector_layout, vector_stream, wire
from hw.golden.softmax import EXP_FRAC_BITS, exp_table, reciprocal_bits

#: Levels of the beat's maximum tree (a compare and a select each) per register stage: two levels took
#: 14.8 ns on an ECP5-85F (32 lanes), so every level is registered.
MAX_LEVELS_PER_STAGE = 1
#: Levels of the beat's exponential sum tree (an adder each) per register stage.
SUM_LEVELS_PER_STAGE = 1
#: Cycles from reading a beat back from the row buffer to its registered exponentials: the row buffer's
#: synchronous read, the registered distance, the table's synchronous read, the registered table data.
EXP_LATENCY = 4
#: Entries of the output FIFO: the emit pipeline (EXP_LATENCY + the registered multiply) and three
#: beats of slack, so that emission runs at one beat per cycle while ``o`` is ready.
OUT_DEPTH = EXP_LATENCY + 4


def _tree_stages(count: int, levels_per_stage: int) -> int:
    """Register stages of :func:`hw.blocks.pipeline.reduce_tree` over ``count`` values."""
    levels = max(0, (count - 1).bit_length())
    return -(-levels // levels_per_stage)


class Softmax(wiring.Component):
    """Softmax over consecutive rows of ``row_len`` elements, ``width`` elements per beat.

    The fixed-point contract (input scale, Q.15 exp table, reciprocal ``2**K // sum``, Q.(bits-1)
    probabilities) is documented in :mod:`hw.golden.softmax`. One row is processed at a time in four
    phases over a row buffer of ``row_len / width`` beats, every step registered (the memories are read
    synchronously, so they map to block RAM; no cycle holds more than one comparator or adder of a
    tree):

    1. load: accept the row (1 beat per cycle) into an input register, write it to the row buffer and
       reduce it with a pipelined maximum tree into the row maximum;
    2. sum: read the buffer back, register ``d = min(max - x, len - 1)`` per lane, look up
       ``e = table[d]`` and add the beat with a pipelined tree into the row sum. The clamp is not a
       compare: the table is stored zero-filled to a power of two, ``2**p`` entries, so ``table[d]``
       is the same for every ``d >= len - 1`` up to ``2**p - 1`` (0, the last real entry; or the table
       has all ``2**bits`` entries), and ``d`` saturates to ``2**p - 1`` when it has a bit at or above
       ``p`` (an OR of those bits selects the register's set value). The index register is fed by one
       subtraction and one gate;
    3. divide: restoring division ``2**K // sum``, one quotient bit per cycle; the first 15 bits are
       known to be 0 (``sum >= table[0] = 2**15``) and skipped, so ``K - 14`` cycles;
    4. emit: read the buffer back again, look up ``e``, multiply by the reciprocal (registered), shift
       and clamp ``min((e * recip) >> (K - bits + 1), 2**(bits-1) - 1)`` into an output FIFO of
       ``OUT_DEPTH`` beats that drives ``o`` from its output register.

    The next row's load starts as soon as the last beat is read back for emission, while the output
    FIFO drains. Input always valid and ``o`` always ready, a row takes :attr:`row_cycles` cycles:
    ``3 * beats + (K - 14) + 5 + S_max + S_sum``, with ``beats = row_len / width`` and ``S_max``,
    ``S_sum`` the register stages of the two trees (``ceil_log2(width)`` each: every level registered).
    ``K = bits - 1 + 16 + ceil_log2(valid)``.

    With ``valid < row_len`` only a row's first ``valid`` elements are real (the rest is padding to whole
    beats): the others are left out of the maximum and the sum and come out as 0, so the real ones equal
    the softmax of a ``valid``-element row. The mask travels with each beat through the pipeline.

    Parameters
    ----------
    bits : int
        Element width of inputs and outputs, 8 or 16.
    width : int
        Elements per beat; must divide ``row_len``.
    row_len : int
        Elements per row, a multiple of ``width``.
    in_frac_bits : int
        Fractional bits of the input (``x`` means ``x / 2**in_frac_bits``), ``0 <= in_frac_bits < bits``.
    valid : int or None
        Real elements at the start of each row, ``1 <= valid <= row_len`` (default: all).

    Attributes
    ----------
    i : In(stream.Signature(ArrayLayout(signed(bits), width)))
        Scores, row after row.
    o : Out(stream.Signature(ArrayLayout(signed(bits), width)))
        Probabilities in Q.(bits-1), same order. Golden model: :func:`hw.golden.softmax.softmax_rows`.
    row_cycles : int
        Cycles per row when never stalled (see above).
    """

    @validated
    def __init__(self, *, bits: int, width: int, row_len: int, in_frac_bits: int, valid: int | None = None) -> None:
        self.bits = check_bits("Softmax", bits)
        self.width = check_width("Softmax", width)
        self.row_len = check_int("Softmax", "row_len", row_len, minimum=1)
        check_multiple("Softmax", "row_len", self.row_len, "width", self.width)
        self.in_frac_bits = check_int("Softmax", "in_frac_bits", in_frac_bits, minimum=0,
                                      maximum=self.bits - 1)
        self.valid = self.row_len if valid is None else check_int("Softmax", "valid", valid, minimum=1,
                                                                    maximum=self.row_len)
        self.table = exp_table(self.bits, self.in_frac_bits)
        self.recip_bits = reciprocal_bits(self.bits, self.valid)
        beats = self.row_len // self.width
        self.row_cycles = (3 * beats + self.recip_bits - EXP_FRAC_BITS + 1 + EXP_LATENCY + 1
                           + _tree_stages(self.width, MAX_LEVELS_PER_STAGE)
                           + _tree_stages(self.width, SUM_LEVELS_PER_STAGE))
        super().__init__({
            "i": In(vector_stream(self.bits, self.width)),
            "o": Out(vector_stream(self.bits, self.width)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        bits, width = self.bits, self.width
        beats = self.row_len // width
        k_bits = self.recip_bits
        index_bits = max(1, (len(self.table) - 1).bit_length())   # p: the stored table has 2**p entries
        stored_table = self.table + (0,) * ((1 << index_bits) - len(self.table))
        layout = vector_layout(bits, width)
        masked = self.valid < self.row_len

        def real(addr, k: int):
            """Whether lane ``k`` of the beat at row-buffer address ``addr`` holds a real element."""
            return addr * width + k < self.valid

        # Synchronous-read memories (block RAM or registered LUT RAM): the row buffer and one exp table
        # per lane, each read through its own port.
        m.submodules.row = row = memory.Memory(shape=layout, depth=beats, init=[])
        row_wr = row.write_port()
        row_rd = row.read_port(transparent_for=())
        exp_rd = []
        for k in range(width):
            # a copy per lane: one read port each (a single memory with dozens of ports defeats Yosys)
            m.submodules[f"exp_table_{k}"] = exp_rom = memory.Memory(shape=unsigned(EXP_FRAC_BITS + 1),
                                                              depth=len(stored_table), init=stored_table)
            exp_rd.append(exp_rom.read_port(transparent_for=()))
        m.submodules.out = out = fifo.SyncFIFOBuffered(width=layout.size, depth=OUT_DEPTH)

        row_max = Signal(signed(bits))
        total = Signal(EXP_FRAC_BITS + 1 + max(1, (self.row_len - 1).bit_length()) + 1)
        remainder = Signal(len(total) + 1)
        recip = Signal(k_bits + 1)
        div_step = Signal(range(k_bits + 2))
        accepted = Signal(range(beats + 1))       # beats of the row taken from i
        issued = Signal(range(beats + 1))         # beats read back from the row buffer in this phase
        folded = Signal(range(beats + 1))         # beats folded into row_max / total in this phase

        # ---- load: the accepted beat is registered, written to the row buffer and max-reduced ----
        beat = Signal(layout)
        beat_valid = Signal()
        beat_addr = Signal(range(beats))
        loading = Signal(init=1)                  # i.ready, a register: in the load phase, beats to take
        taking = Signal()
        m.d.comb += [self.i.ready.eq(loading), taking.eq(self.i.valid & loading)]
        m.d.sync += [beat.eq(self.i.payload), beat_valid.eq(taking), beat_addr.eq(accepted)]
        m.d.comb += [row_wr.en.eq(beat_valid), row_wr.addr.eq(beat_addr), row_wr.data.eq(beat)]
        lowest = -(1 << (bits - 1))
        lanes = [Mux(real(beat_addr, k), beat[k], lowest) if masked else beat[k] for k in range(width)]
        beat_max, max_valid, _ = reduce_tree(m, lanes, maximum, valid=beat_valid,
                                             levels_per_stage=MAX_LEVELS_PER_STAGE, name="beat_max")

        # ---- exp lookup of the beat at `read_addr` (sum and emit phases): row buffer, distance, table ----
        read_addr = Signal(range(beats))
        issue = Signal()
        emit_issue = Signal()
        m.d.comb += row_rd.addr.eq(read_addr)
        v_row, emit_row = Signal(), Signal()           # row buffer data valid (a cycle after the issue)
        v_dist, emit_dist = Signal(), Signal()         # distances registered
        v_table, emit_table = Signal(), Signal()       # table data valid
        v_exp, emit_exp = Signal(), Signal()           # exponentials registered
        m.d.sync += [v_row.eq(issue), emit_row.eq(emit_issue), v_dist.eq(v_row), emit_dist.eq(emit_row),
                     v_table.eq(v_dist), emit_table.eq(emit_dist), v_exp.eq(v_table), emit_exp.eq(emit_table)]
        row_addr = Signal(range(beats))                # address of the row buffer data (a cycle after the issue)
        m.d.sync += row_addr.eq(read_addr)
        exps = []
        for k in range(width):
            distance = wire(m, row_max - row_rd.data[k], f"distance_{k}")
            index = Signal(index_bits, name=f"index_{k}")
            m.d.sync += index.eq(Mux(distance[index_bits:].any(), (1 << index_bits) - 1, distance[:index_bits]))
            m.d.comb += exp_rd[k].addr.eq(index)
            exp = Signal(EXP_FRAC_BITS + 1, name=f"exp_{k}")
            if masked:
                # the lane's mask, registered with the index and again with the table data: 0 for padding
                real_dist, real_table = Signal(name=f"real_dist_{k}"), Signal(name=f"real_table_{k}")
                m.d.sync += [real_dist.eq(real(row_addr, k)), real_table.eq(real_dist)]
                m.d.sync += exp.eq(Mux(real_table, exp_rd[k].data, 0))
            else:
                m.d.sync += exp.eq(exp_rd[k].data)
            exps.append(exp)
        beat_sum, sum_valid, _ = reduce_tree(m, exps, operator.add, valid=v_exp & ~emit_exp,
                                             levels_per_stage=SUM_LEVELS_PER_STAGE, name="beat_sum")

        # ---- emit: registered multiply by the reciprocal, shift and clamp, into the output FIFO ----
        # total >= table[0] = 2**EXP_FRAC_BITS, so recip = 2**K // total < 2**(K - EXP_FRAC_BITS + 1)
        recip_low = recip[:k_bits - EXP_FRAC_BITS + 1]
        v_prod = Signal()
        m.d.sync += v_prod.eq(v_exp & emit_exp)
        top = (1 << (bits - 1)) - 1
        probabilities = []
        for k in range(width):
            product = Signal(len(exps[k]) + len(recip_low), name=f"product_{k}")
            m.d.sync += product.eq(exps[k] * recip_low)
            scaled = wire(m, product >> (k_bits - (bits - 1)), f"scaled_{k}")
            probabilities.append(Mux(scaled > top, top, scaled)[:bits])
        in_flight = Signal(range(OUT_DEPTH + 1))        # emitted beats not yet in the output FIFO
        m.d.sync += in_flight.eq(in_flight + emit_issue - v_prod)
        m.d.comb += [out.w_en.eq(v_prod), out.w_data.eq(Cat(*probabilities)),
                     self.o.valid.eq(out.r_rdy), self.o.payload.eq(out.r_data), out.r_en.eq(self.o.ready)]
        room = Signal()
        m.d.comb += room.eq(in_flight + out.level < OUT_DEPTH)

        with m.FSM():
            with m.State("LOAD"):
                m.d.sync += accepted.eq(accepted + taking)
                with m.If(taking & (accepted == beats - 1)):
                    m.d.sync += loading.eq(0)
                with m.If(max_valid):
                    m.d.sync += [row_max.eq(Mux(folded == 0, beat_max, maximum(row_max, beat_max))),
                                 folded.eq(folded + 1)]
                    with m.If(folded == beats - 1):
                        m.d.sync += [folded.eq(0), accepted.eq(0), issued.eq(0), read_addr.eq(0), total.eq(0)]
                        m.next = "SUM"
            with m.State("SUM"):
                m.d.comb += issue.eq(issued != beats)
                m.d.sync += [issued.eq(issued + issue), read_addr.eq(read_addr + issue)]
                with m.If(sum_valid):
                    m.d.sync += [total.eq(total + beat_sum), folded.eq(folded + 1)]
                    with m.If(folded == beats - 1):
                        # the first EXP_FRAC_BITS quotient bits are 0 (2**j < total): start past them
                        m.d.sync += [folded.eq(0), issued.eq(0), read_addr.eq(0),
                                     remainder.eq(1 << (EXP_FRAC_BITS - 1)), recip.eq(0),
                                     div_step.eq(EXP_FRAC_BITS)]
                        m.next = "DIVIDE"
            with m.State("DIVIDE"):
                # restoring division 2**K // total, one quotient bit per cycle
                shifted = Cat(Const(0, 1), remainder)
                difference = wire(m, shifted - total, "difference")
                fits = ~difference[-1]
                m.d.sync += [
                    remainder.eq(Mux(fits, difference, shifted)),
                    recip.eq(Cat(fits, recip)),
                    div_step.eq(div_step + 1),
                ]
                with m.If(div_step == k_bits):
                    m.next = "EMIT"
            with m.State("EMIT"):
                m.d.comb += [issue.eq(room), emit_issue.eq(room)]
                m.d.sync += [issued.eq(issued + room), read_addr.eq(read_addr + room)]
                with m.If(room & (issued == beats - 1)):
                    m.d.sync += [issued.eq(0), read_addr.eq(0), loading.eq(1)]
                    m.next = "LOAD"
        return m
