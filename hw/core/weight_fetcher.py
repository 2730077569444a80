"""The weight fetcher and the circular weight buffer it fills.

For every instruction the fetcher streams its ``n_tiles`` weight tiles (``k_bound`` entries of ``L``
int8 weights each, ``L/B`` off-chip lines per entry, consecutive from line ``w_base``) from off-chip
into a circular buffer of ``depth`` entries. It runs ahead of the MAC array by as many tiles as the
buffer holds (double buffering and more): a tile is requested only once its entries are free, i.e.
``allocated + k_bound - released <= depth`` (a registered compare). An instruction with ``w_dep`` first waits until core
``w_core`` has retired ``w_count`` instructions (its weights are results another core wrote off-chip).

Bursts are at most ``MAX_BURST`` lines; each burst's length is registered one state before it is
requested, so the request path starts at flip-flops. The buffer is a block RAM with a synchronous read
port (``rd_addr`` -> ``rd_data`` one cycle on) and a byte-lane write port (one line per cycle).
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from hw.core.instruction_rom import instruction_port_signature
from hw.core.isa import ADDR_BITS, INSTR_LAYOUT
from hw.core.memory_system import LEN_BITS, MAX_BURST, read_client_signature
from hw.core.units import CNT_BITS, log2_exact
from hw.errors import HwError


class WeightFetcher(wiring.Component):
    """Weight tiles from off-chip into a circular buffer (see the module docstring).

    Parameters
    ----------
    lanes : int
        ``L``, int8 weights per buffer entry (a power of two, a multiple of ``words_per_line``).
    words_per_line : int
        ``B``, int8 words per off-chip line (a power of two).
    depth : int
        Buffer entries (a power of two).
    n_instr : int
        Instructions in the program.
    peers : int
        Cores whose ``retired`` counts ``w_dep`` instructions wait on; 0 if the program has none.

    Attributes
    ----------
    running : In(1)
        Fetch (level).
    instr : Out(instruction_port_signature)
        The fetcher's instruction ROM port.
    rd_w : Out(read client)
        Off-chip read channel.
    peer_retired : In(12) array (only with ``peers``)
        Every core's retired-instruction count.
    released : In(32)
        Entries the MAC array has finished with (frees buffer space).
    filled : Out(32), entry_filled : Out(1)
        Registered: the entries completely received before this cycle (``filled``), of which the last one
        was completed in the previous cycle (``entry_filled``); ``filled + entry_filled`` are written.
    rd_addr : In, rd_data : Out(8 * lanes)
        Synchronous buffer read: entry ``rd_addr`` (modulo ``depth``) one cycle later.
    """

    def __init__(self, *, lanes: int, words_per_line: int, depth: int, n_instr: int, peers: int = 0) -> None:
        log2_exact(words_per_line, "WeightFetcher: words_per_line")
        log2_exact(lanes, "WeightFetcher: lanes")
        if lanes % words_per_line:
            raise HwError(f"must be a multiple of words_per_line ({words_per_line}), not {lanes}",
                          source="WeightFetcher: lanes")
        log2_exact(depth, "WeightFetcher: depth")
        if not isinstance(n_instr, int) or n_instr < 1:
            raise HwError(f"must be a positive integer, not {n_instr!r}", source="WeightFetcher: n_instr")
        if not isinstance(peers, int) or peers < 0:
            raise HwError(f"must be a non-negative integer, not {peers!r}", source="WeightFetcher: peers")
        self.lanes, self.B, self.depth, self.n_instr, self.peers = lanes, words_per_line, depth, n_instr, peers
        self.addr_bits = max(depth.bit_length() - 1, 1)
        sig = {
            "running": In(1), "instr": Out(instruction_port_signature(n_instr)),
            "rd_w": Out(read_client_signature(8 * words_per_line)),
            "released": In(CNT_BITS), "filled": Out(CNT_BITS), "entry_filled": Out(1),
            "rd_addr": In(self.addr_bits), "rd_data": Out(8 * lanes),
        }
        if peers:
            sig["peer_retired"] = In(12).array(peers)
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        L, B, D, n_instr = self.lanes, self.B, self.depth, self.n_instr
        lines_log2 = log2_exact(L // B, "L/B")     # lines per entry

        m.submodules.wbuf = wbuf = memory.Memory(shape=8 * L, depth=D, init=[])
        write = wbuf.write_port(granularity=8 * B)
        read = wbuf.read_port()
        m.d.comb += [read.addr.eq(self.rd_addr), self.rd_data.eq(read.data)]
        fill_lines = Signal(CNT_BITS)       # weight lines received so far
        entries = fill_lines >> lines_log2
        # registered outputs: the count as of the previous cycle, and whether that cycle completed an entry
        m.d.sync += [self.filled.eq(entries), self.entry_filled.eq(0)]
        with m.If(self.rd_w.resp_valid):
            m.d.comb += [
                write.addr.eq(entries[:self.addr_bits]),
                write.data.eq(Cat(*[self.rd_w.resp_data] * (L // B))),
                write.en.eq(Const(1, L // B) << fill_lines[:lines_log2] if lines_log2 else 1),
            ]
            m.d.sync += [fill_lines.eq(fill_lines + 1),
                         self.entry_filled.eq(fill_lines[:lines_log2].all() if lines_log2 else 1)]

        index = Signal(range(n_instr + 1))
        rom = self.instr.data                # ROM[index] while in NEXT (see the prefetch below)
        cur = Signal(INSTR_LAYOUT)           # the instruction being fetched, registered when it starts
        tile = Signal(12)
        addr = Signal(ADDR_BITS)
        left = Signal(24)                    # lines of the tile still to request
        allocated = Signal(CNT_BITS)         # entries handed to tiles so far
        burst = Signal(LEN_BITS)             # registered: this burst's lines, and whether it is the tile's last
        final = Signal()
        # "the next tile fits", registered: entries are only released meanwhile, so a stale answer is safe;
        # in the cycle after NEXT it still describes the previous instruction's tile (``entered``)
        fits = Signal()
        entered = Signal()
        m.d.sync += [fits.eq(allocated + cur.k_bound - self.released <= D), entered.eq(0)]
        with m.FSM(name="wfetch") as fsm:
            with m.State("NEXT"):
                go = Signal()
                if self.peers:
                    m.d.comb += go.eq(~rom.w_dep | (Array(self.peer_retired)[rom.w_core] >= rom.w_count))
                else:
                    m.d.comb += go.eq(1)
                with m.If(self.running & (index < n_instr) & go):
                    m.d.sync += [cur.eq(rom), addr.eq(rom.w_base), tile.eq(0), entered.eq(1)]
                    m.next = "TILE"
            with m.State("TILE"):
                with m.If(fits & ~entered):
                    m.d.sync += [left.eq(cur.k_bound << lines_log2), allocated.eq(allocated + cur.k_bound)]
                    m.next = "SIZE"
            with m.State("SIZE"):
                m.d.sync += [burst.eq(Mux(left > MAX_BURST, MAX_BURST, left)), final.eq(left <= MAX_BURST)]
                m.next = "BURST"
            with m.State("BURST"):
                m.d.comb += [self.rd_w.req_valid.eq(1), self.rd_w.req_addr.eq(addr), self.rd_w.req_len.eq(burst)]
                with m.If(self.rd_w.req_ready):
                    m.d.sync += [addr.eq(addr + burst), left.eq(left - burst)]
                    m.next = "SIZE"
                    with m.If(final):
                        with m.If(tile == cur.n_tiles - 1):
                            m.d.sync += index.eq(index + 1)
                            m.next = "NEXT"
                        with m.Else():
                            m.d.sync += tile.eq(tile + 1)
                            m.next = "TILE"
        # prefetch: away from NEXT the ROM reads the next instruction, which is the one NEXT then sees
        m.d.comb += self.instr.addr.eq(index + ~fsm.ongoing("NEXT"))
        return m
