"""Row softmax approximation: exp lookup table on (rowmax - x), row sum, iterative reciprocal."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from hw.blocks.params import check_bits, check_int, check_multiple, check_width, validated
from hw.blocks.vectors import maximum, vector_layout, vector_stream, wire
from hw.golden.softmax import EXP_FRAC_BITS, exp_table, reciprocal_bits


def _max_tree(m: Module, values: list, name: str = "beat_max"):
    """Maximum of ``values`` as a balanced tree of named wires (a nested ``Mux`` chain would repeat
    every operand expression at each level and grow exponentially with the width)."""
    level, count = list(values), 0
    while len(level) > 1:
        paired = []
        for j in range(0, len(level) - 1, 2):
            paired.append(wire(m, maximum(level[j], level[j + 1]), f"{name}{count}"))
            count += 1
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


class Softmax(wiring.Component):
    """Softmax over consecutive rows of ``row_len`` elements, ``width`` elements per beat.

    The fixed-point contract (input scale, Q.15 exp table, reciprocal ``2**K // sum``, Q.(bits-1)
    probabilities) is documented in :mod:`hw.golden.softmax`. One row is processed at a time in four
    phases over a row buffer of ``row_len / width`` beats:

    1. load: accept the row (1 beat per cycle) into the row buffer, tracking the row maximum;
    2. sum: re-read the buffer, look up ``e = table[min(max - x, len - 1)]`` per lane, accumulate;
    3. divide: restoring division ``2**K // sum``, one quotient bit per cycle (``K + 1`` cycles);
    4. emit: re-read the buffer and output ``min((e * recip) >> (K - bits + 1), 2**(bits-1) - 1)``
       (1 beat per cycle when ``o`` is ready).

    A row therefore takes ``3 * row_len / width + K + 1`` cycles when never stalled; the next row's
    load starts after the last output beat. ``K = bits - 1 + 16 + ceil_log2(valid)``.

    With ``valid < row_len`` only a row's first ``valid`` elements are real (the rest is padding to whole
    beats): the others are left out of the maximum and the sum and come out as 0, so the real ones equal
    the softmax of a ``valid``-element row.

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
        super().__init__({
            "i": In(vector_stream(self.bits, self.width)),
            "o": Out(vector_stream(self.bits, self.width)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        bits, width = self.bits, self.width
        beats = self.row_len // width
        k_bits = self.recip_bits
        last_entry = len(self.table) - 1

        m.submodules.row = row = memory.Memory(shape=vector_layout(bits, width), depth=beats, init=[])
        row_wr = row.write_port()
        row_rd = row.read_port(domain="comb")
        m.submodules.exp = exp_rom = memory.Memory(shape=unsigned(EXP_FRAC_BITS + 1),
                                                   depth=len(self.table), init=self.table)
        exp_rd = [exp_rom.read_port(domain="comb") for _ in range(width)]

        index = Signal(range(beats))
        row_max = Signal(signed(bits))
        total = Signal(EXP_FRAC_BITS + 1 + max(1, (self.row_len - 1).bit_length()) + 1)
        remainder = Signal(len(total) + 1)
        recip = Signal(k_bits + 1)
        div_step = Signal(range(k_bits + 2))
        last_beat = index == beats - 1

        def real_or(k: int, value, padding):
            """``value`` if lane ``k`` of the beat at ``index`` holds a real element, else ``padding``."""
            return Mux(index * width + k < self.valid, value, padding) if self.valid < self.row_len else value

        # Exponentials of the beat at `index` (used by the sum and the emit phases); 0 for padding.
        exps = []
        for k in range(width):
            distance = Signal(bits + 1, name=f"distance{k}")
            m.d.comb += distance.eq(row_max - row_rd.data[k])
            m.d.comb += exp_rd[k].addr.eq(Mux(distance > last_entry, last_entry, distance))
            exps.append(real_or(k, exp_rd[k].data, 0))
        m.d.comb += [row_rd.addr.eq(index), row_wr.addr.eq(index), row_wr.data.eq(self.i.payload)]

        with m.FSM():
            with m.State("LOAD"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid):
                    m.d.comb += row_wr.en.eq(1)
                    lowest = -(1 << (bits - 1))
                    beat_max = _max_tree(m, [real_or(k, self.i.payload[k], lowest) for k in range(width)])
                    m.d.sync += row_max.eq(Mux(index == 0, beat_max, maximum(row_max, beat_max)))
                    m.d.sync += index.eq(Mux(last_beat, 0, index + 1))
                    with m.If(last_beat):
                        m.d.sync += total.eq(0)
                        m.next = "SUM"
            with m.State("SUM"):
                m.d.sync += total.eq(total + sum(exps))
                m.d.sync += index.eq(Mux(last_beat, 0, index + 1))
                with m.If(last_beat):
                    m.d.sync += [remainder.eq(0), recip.eq(0), div_step.eq(0)]
                    m.next = "DIVIDE"
            with m.State("DIVIDE"):
                # Numerator 2**K: its only 1 bit enters at the first step.
                shifted = Cat(div_step == 0, remainder)
                fits = shifted >= total
                m.d.sync += [
                    remainder.eq(Mux(fits, shifted - total, shifted)),
                    recip.eq(Cat(fits, recip)),
                    div_step.eq(div_step + 1),
                ]
                with m.If(div_step == k_bits):
                    m.next = "EMIT"
            with m.State("EMIT"):
                top = (1 << (bits - 1)) - 1
                m.d.comb += self.o.valid.eq(1)
                for k in range(width):
                    scaled = wire(m, (exps[k] * recip) >> (k_bits - (bits - 1)), f"scaled{k}")
                    m.d.comb += self.o.payload[k].eq(Mux(scaled > top, top, scaled))
                with m.If(self.o.ready):
                    m.d.sync += index.eq(Mux(last_beat, 0, index + 1))
                    with m.If(last_beat):
                        m.next = "LOAD"
        return m
