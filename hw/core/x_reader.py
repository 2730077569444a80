"""The X reader: operands from the scratchpad or the stream-in ring into the MAC array's X FIFO.

It steps through the program and serves the instructions whose X is on chip (``SPAD``, ``RING`` and,
for convolutions, ``LINEBUF``); ``OFFCHIP`` instructions are skipped (the X loader serves them). With
``x_dep`` it first waits until every earlier instruction's results are written.

A GEMM reads element ``(m, k)`` at ``x_base + m*x_stride + (k >> x_tlog)*x_tstride + (k mod 2**x_tlog)``
for ``for nt: for m: for k`` (or pixel-major ``for m: for nt: for k`` with ``m_outer``). A convolution
reads im2col operands (see :class:`hw.core.isa.Instruction`): per output pixel ``(oy, ox)`` and N tile,
taps ``(ky, kx)`` and channels ``c``; a tap outside the (upsampled) map yields a zero without a read.

Reading is a pipeline of registers, so that no multiplier and no chain of adders sits in front of a
control decision:

1. **generate**: loop counters step and the operand's address is registered as a *candidate*. For a
   convolution the address is kept incrementally: the source row's address ``base + row*in_w*in_c`` and
   the column's offset ``col*in_c`` move by precomputed steps as the taps, N tiles and pixels advance
   (``in_w*in_c`` is multiplied once, in a register stage when the instruction starts);
2. **check**: the candidate moves to a second register, and whether its element is there (on chip, a
   zero, or a ring element that has arrived: ``addr < received``) is registered with it, and refreshed
   every cycle while it waits; so the 24-bit arrival compare ends in a register, not in the loop
   counters' enables;
3. **issue**: the checked candidate is issued when the X FIFO has room and its element is there; ring
   entries that no later operand needs are released with it;
4. **read**: the scratchpad or ring is read (synchronous read port, ``read_addr`` -> ``*_data``);
5. the element (or a zero for padding) enters the X FIFO, which the MAC array pops through ``x``.

Ring sources release input as they go: up to ``x_end`` at the end of a GEMM, row by row for
pixel-major GEMMs with ``x_rows`` and for convolutions (rows above the next output row's window), and
up to ``r_end`` at the end of a convolution.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, Value, signed
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.core.instruction_rom import index_shape, instruction_port_signature
from hw.core.isa import ADDR_BITS, INSTR_LAYOUT, XSource
from hw.core.units import CNT_BITS
from hw.errors import HwError

#: Depth of the X FIFO between the reader and the MAC array.
X_FIFO_DEPTH = 6
#: An operand to read: its address, whether it is in the ring or a zero (padding), and the ring index up
#: to which elements are released once it is issued.
#: The loop bounds less one, registered when an instruction starts (the loops compare against registers).
LAST = data.StructLayout({"k": 12, "m": 12, "n": 12, "c": 12, "ow": 12, "klo": 16})
CANDIDATE = data.StructLayout({"addr": ADDR_BITS, "ring": 1, "zero": 1, "release": 1, "release_to": CNT_BITS})
#: Width of the signed address arithmetic of the convolution reader (padding rows/columns go negative).
_SADDR = ADDR_BITS + 2


class XReader(wiring.Component):
    """On-chip X operands in MAC order (see the module docstring).

    Parameters
    ----------
    n_instr : int
        Instructions in the program.
    spad, ring : bool
        Whether the program reads the scratchpad / the ring (stream-in ring or line buffer).
    conv : bool
        Whether the program has convolutions (builds the im2col generator).
    m_outer : bool
        Whether the program has pixel-major GEMMs.

    Attributes
    ----------
    running : In(1)
        Read (level).
    instr : Out(instruction_port_signature)
        The reader's instruction ROM port.
    mac_index : In, results_written : In(1)
        The MAC array's current instruction and whether all results so far are written (``x_dep``).
    received : In(32) (only with ``ring``)
        Ring elements that have arrived (global stream index of the next one).
    ring_consumed : Out(32)
        Ring elements released (everything below this index may be overwritten).
    read_addr : Out(24), spad_data : In(8), ring_data : In(8)
        The scratchpad/ring read address and the data of the previous cycle's address.
    x : Out(stream.Signature(signed(8)))
        Operands to the MAC array.
    """

    def __init__(self, *, n_instr: int, spad: bool, ring: bool, conv: bool = False, m_outer: bool = False) -> None:
        if not isinstance(n_instr, int) or n_instr < 1:
            raise HwError(f"must be a positive integer, not {n_instr!r}", source="XReader: n_instr")
        if not (spad or ring):
            raise HwError("reads neither the scratchpad nor a ring", source="XReader")
        self.n_instr, self.spad, self.ring, self.conv, self.m_outer = n_instr, bool(spad), bool(ring), bool(conv), bool(m_outer)
        sig = {
            "running": In(1), "instr": Out(instruction_port_signature(n_instr)),
            "mac_index": In(index_shape(n_instr)), "results_written": In(1),
            "ring_consumed": Out(CNT_BITS), "read_addr": Out(ADDR_BITS), "spad_data": In(8), "ring_data": In(8),
            "x": Out(stream.Signature(signed(8))),
        }
        if ring:
            sig["received"] = In(CNT_BITS)
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        n_instr = self.n_instr
        m.submodules.xfifo = xfifo = fifo.SyncFIFO(width=8, depth=X_FIFO_DEPTH)
        m.d.comb += [self.x.valid.eq(xfifo.r_rdy), self.x.payload.eq(xfifo.r_data), xfifo.r_en.eq(self.x.ready)]

        # ---- generate: the candidate operand and the ring release that goes with it ----
        offer = Signal()            # the generator offers an operand this cycle
        gen = Signal(CANDIDATE)     # what it offers
        c_valid = Signal()
        c = Signal(CANDIDATE)       # the registered candidate
        d_valid = Signal()
        d = Signal(CANDIDATE)       # the checked candidate, issued when it can be
        d_there = Signal()          # its element is there (registered; see "check")
        # ---- issue -> read -> X FIFO ----
        issued = Signal()
        issued_ring = Signal()
        issued_zero = Signal()
        pending = Signal()
        pending_ring = Signal()
        pending_zero = Signal()
        room = Signal()
        m.d.comb += room.eq(xfifo.level + pending + issued < xfifo.depth)
        def there(candidate) -> Value:
            """Whether ``candidate``'s element can be read now."""
            if not self.ring:
                return Const(1)
            return ~candidate.ring | candidate.zero | (candidate.addr < self.received)

        fire = Signal()
        m.d.comb += fire.eq(d_valid & room & d_there)
        move = Signal()             # the candidate moves to the checked register this cycle
        m.d.comb += move.eq(c_valid & (~d_valid | fire))
        advance = Signal()          # the generator's candidate is taken this cycle
        m.d.comb += advance.eq(offer & (~c_valid | move))
        m.d.sync += [issued.eq(fire), pending.eq(issued), pending_ring.eq(issued_ring), pending_zero.eq(issued_zero)]
        with m.If(fire):
            m.d.sync += [issued_ring.eq(d.ring), issued_zero.eq(d.zero), self.read_addr.eq(d.addr), d_valid.eq(0)]
            with m.If(d.release):
                m.d.sync += self.ring_consumed.eq(d.release_to)
        with m.If(move):
            m.d.sync += [d_valid.eq(1), d.eq(c), d_there.eq(there(c)), c_valid.eq(0)]
        with m.Else():
            m.d.sync += d_there.eq(there(d))
        with m.If(advance):
            m.d.sync += [c_valid.eq(1), c.eq(gen)]
        data = Mux(pending_zero, 0, Mux(pending_ring, self.ring_data, self.spad_data))
        m.d.comb += [xfifo.w_en.eq(pending), xfifo.w_data.eq(data)]

        index = Signal(index_shape(n_instr))
        rom = self.instr.data               # ROM[index] while in NEXT (see the prefetch below)
        cur = Signal(INSTR_LAYOUT)          # the instruction being read, registered when it starts
        tile = Signal(12)
        row = Signal(12)
        k = Signal(12)
        row_addr = Signal(ADDR_BITS)    # x_base + m * x_stride
        klo = Signal(16)                # k within its column tile
        koff = Signal(ADDR_BITS)        # (k >> x_tlog) * x_tstride
        last = Signal(LAST)
        skip = Signal()
        with m.FSM(name="xread") as fsm:
            with m.State("NEXT"):
                with m.If(self.running & (index < n_instr)):
                    with m.If(rom.x_src == XSource.OFFCHIP):
                        m.d.comb += skip.eq(1)
                        m.d.sync += index.eq(index + 1)
                    with m.Elif(~rom.x_dep | ((self.mac_index >= index) & self.results_written)):
                        m.d.sync += [cur.eq(rom), tile.eq(0), row.eq(0), k.eq(0), row_addr.eq(rom.x_base),
                                     klo.eq(0), koff.eq(0),
                                     last.k.eq(rom.k_bound - 1), last.m.eq(rom.m_bound - 1), last.n.eq(rom.n_tiles - 1),
                                     last.c.eq(rom.in_c - 1), last.ow.eq(rom.out_w - 1),
                                     last.klo.eq((Const(1, 16) << rom.x_tlog) - 1)]
                        if self.conv:
                            with m.If(rom.conv):
                                m.next = "CMUL"
                            with m.Else():
                                m.next = "RUN"
                        else:
                            m.next = "RUN"
            with m.State("RUN"):
                self._gemm(m, cur, last, index, tile, row, k, row_addr, klo, koff, offer, gen, advance)
            if self.conv:
                self._conv(m, cur, last, index, tile, row, offer, gen, advance)
        # prefetch: away from NEXT (and when NEXT skips) the ROM reads the instruction NEXT sees next
        m.d.comb += self.instr.addr.eq(index + (~fsm.ongoing("NEXT") | skip))
        return m

    # ------------------------------------------------------------------------------------------------
    def _gemm(self, m: Module, cur, last, index, tile, row, k, row_addr, klo, koff, offer, gen, advance) -> None:
        """The ``RUN`` state: GEMM operands, element ``(m, k)`` of column tiles of ``2**x_tlog`` elements."""
        is_ring = cur.x_src == XSource.RING
        m.d.comb += [offer.eq(1), gen.addr.eq(row_addr + koff + klo), gen.ring.eq(is_ring)]
        finished = Signal()
        with m.If(advance):
            m.d.sync += [k.eq(k + 1), klo.eq(klo + 1)]
            with m.If(klo == last.klo):
                m.d.sync += [klo.eq(0), koff.eq(koff + cur.x_tstride)]
            with m.If(k == last.k):
                m.d.sync += [k.eq(0), klo.eq(0), koff.eq(0)]
                if self.m_outer:
                    with m.If(cur.m_outer):
                        # pixel-major: row m again for every N tile, then the next row
                        m.d.sync += tile.eq(tile + 1)
                        with m.If(tile == last.n):
                            m.d.sync += [tile.eq(0), row.eq(row + 1), row_addr.eq(row_addr + cur.x_stride)]
                            m.d.comb += finished.eq(row == last.m)
                            if self.ring:
                                with m.If(is_ring & cur.x_rows):   # row done: free it
                                    m.d.comb += [gen.release.eq(1), gen.release_to.eq(row_addr + cur.x_stride)]
                with (m.Else() if self.m_outer else m.If(1)):
                    m.d.sync += [row.eq(row + 1), row_addr.eq(row_addr + cur.x_stride)]
                    with m.If(row == last.m):
                        m.d.sync += [row.eq(0), tile.eq(tile + 1), row_addr.eq(cur.x_base)]
                        m.d.comb += finished.eq(tile == last.n)
                with m.If(finished):
                    m.d.sync += [index.eq(index + 1), row.eq(0), tile.eq(0)]
                    with m.If(is_ring):
                        m.d.comb += [gen.release.eq(1), gen.release_to.eq(cur.x_end)]
                    m.next = "NEXT"

    def _conv(self, m: Module, cur, last, index, tile, pixel, offer, gen, advance) -> None:
        """The im2col states: ``CMUL`` and ``CBASE`` prepare the steps, ``CONV`` generates operands.

        ``iy1``/``ix1`` are the source row/column + 1 in the upsampled, unpadded map (0 = top/left
        padding); the stored map's row is ``(iy1 - 1) >> up``, so when ``iy1`` moves by +1 the row moves
        by 1 if ``up == 0`` or ``iy1`` was even, by -1 when ``iy1`` moves by -1 if ``up == 0`` or ``iy1``
        was odd, and by ``-2 >> up`` when it moves by -2 (likewise for columns)."""
        oy = Signal(12)
        ox = Signal(12)
        ky = Signal(2)
        kx = Signal(2)
        ch = Signal(12)
        iy1 = Signal(signed(15))
        ix1 = Signal(signed(15))
        row_stride = Signal(signed(_SADDR))     # in_w * in_c: elements per stored row
        row_addr = Signal(signed(_SADDR))       # base + row * row_stride
        col_off = Signal(signed(_SADDR))        # col * in_c
        h_lim = Signal(14)
        w_lim = Signal(14)
        is_ring = Signal()
        m.d.comb += is_ring.eq(cur.x_src != XSource.SPAD)
        in_c = cur.in_c
        col_back = Mux(cur.up, in_c, in_c << 1)                 # col_off change when ix1 moves by -2
        row_back = Mux(cur.up, row_stride, row_stride << 1)     # row_addr change when iy1 moves by -2
        with m.State("CMUL"):
            m.d.sync += [row_stride.eq(cur.in_w * cur.in_c), h_lim.eq(cur.in_h << cur.up), w_lim.eq(cur.in_w << cur.up)]
            m.next = "CBASE"
        with m.State("CBASE"):
            base = Mux(is_ring, cur.r_base, cur.x_base)
            m.d.sync += [oy.eq(0), ox.eq(0), ky.eq(0), kx.eq(0), ch.eq(0), iy1.eq(0), ix1.eq(0),
                         row_addr.eq(base - row_stride), col_off.eq(-in_c)]
            m.next = "CONV"
        with m.State("CONV"):
            inside = (iy1 >= 1) & (iy1 <= h_lim) & (ix1 >= 1) & (ix1 <= w_lim)
            m.d.comb += [offer.eq(1), gen.addr.eq(row_addr + col_off + ch), gen.ring.eq(is_ring), gen.zero.eq(~inside)]
            with m.If(advance):
                m.d.sync += ch.eq(ch + 1)
                with m.If(ch == last.c):
                    m.d.sync += ch.eq(0)
                    with m.If(kx != 2):
                        m.d.sync += [kx.eq(kx + 1), ix1.eq(ix1 + 1),
                                     col_off.eq(col_off + Mux(~cur.up | ~ix1[0], in_c, 0))]
                    with m.Else():
                        m.d.sync += kx.eq(0)
                        with m.If(ky != 2):
                            m.d.sync += [ky.eq(ky + 1), ix1.eq(ix1 - 2), col_off.eq(col_off - col_back),
                                         iy1.eq(iy1 + 1), row_addr.eq(row_addr + Mux(~cur.up | ~iy1[0], row_stride, 0))]
                        with m.Else():
                            self._conv_next_tile(m, cur, last, index, tile, pixel, oy, ox, ky, iy1, ix1, row_stride,
                                                 row_addr, col_off, col_back, row_back, is_ring, gen)

    @staticmethod
    def _conv_next_tile(m: Module, cur, last, index, tile, pixel, oy, ox, ky, iy1, ix1, row_stride, row_addr, col_off,
                        col_back, row_back, is_ring, gen) -> None:
        """The last tap of an N tile: the next N tile of the pixel, the next pixel, or the next row."""
        in_c = cur.in_c
        m.d.sync += [ky.eq(0), tile.eq(tile + 1)]
        with m.If(tile != last.n):
            # taps back to (0, 0) of the same pixel
            m.d.sync += [ix1.eq(ix1 - 2), col_off.eq(col_off - col_back), iy1.eq(iy1 - 2),
                         row_addr.eq(row_addr - row_back)]
        with m.Else():
            m.d.sync += [tile.eq(0), pixel.eq(pixel + 1)]
            with m.If(ox != last.ow):
                # the next pixel: ix1 from ox*s + 2 to (ox + 1)*s
                m.d.sync += [ox.eq(ox + 1), iy1.eq(iy1 - 2), row_addr.eq(row_addr - row_back)]
                with m.If(~cur.s_log):
                    m.d.sync += [ix1.eq(ix1 - 1), col_off.eq(col_off - Mux(~cur.up | ix1[0], in_c, 0))]
            with m.Else():
                # the next output row: iy1 from oy*s + 2 to (oy + 1)*s; the rows above its window are freed
                new_row_addr = Signal.like(row_addr)
                m.d.comb += new_row_addr.eq(Mux(cur.s_log, row_addr,
                                                row_addr - Mux(~cur.up | iy1[0], row_stride, 0)))
                m.d.sync += [ox.eq(0), oy.eq(oy + 1), ix1.eq(0), col_off.eq(-in_c),
                             iy1.eq(Mux(cur.s_log, iy1, iy1 - 1)), row_addr.eq(new_row_addr)]
                with m.If(is_ring):
                    m.d.comb += [gen.release.eq(1), gen.release_to.eq(new_row_addr)]
            with m.If(pixel == last.m):
                m.d.sync += [oy.eq(0), ox.eq(0), index.eq(index + 1)]
                with m.If(is_ring):
                    m.d.comb += [gen.release.eq(1), gen.release_to.eq(cur.r_end)]
                m.next = "NEXT"
