"""Off-chip memory model with a pipelined, shared read channel and a shared write channel.

The memory holds ``depth`` lines of ``B`` int8 elements; each channel moves one line per cycle, so the
bandwidth is ``B`` words/cycle per direction. Reads are bursts ``{addr, len}`` granted round-robin among
the clients; a burst streams one line per cycle and each line returns ``latency`` cycles after it was
issued, so several bursts are in flight at once (like a DRAM controller with a request queue). Clients
only request what they have room for, so responses are never back-pressured. Writes: one line per
cycle, round-robin among the clients, committed immediately. With ``stress`` high both channels drop
about a quarter of their cycles (random back-pressure). Counters count words per address region.

This model differs from :class:`hw.blocks.offchip_memory.OffchipMemory`, which serves one request at a
time (latency paid per request); the accelerators here keep many short bursts in flight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from amaranth.hdl import Module, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from hw.core.isa import ADDR_BITS
from hw.core.stress import random_stall

MAX_BURST = 16
LEN_BITS = 5


def read_window_lines(latency: int) -> int:
    """Lines an operand loader must be able to have in flight to stream one line per cycle at this read
    latency (the bandwidth-delay product plus two bursts, rounded up to a power of two)."""
    lines = 1
    while lines < latency + 2 * MAX_BURST:
        lines *= 2
    return lines


def read_client_signature(line_bits: int) -> wiring.Signature:
    """Client side of a read channel (client drives requests, receives responses)."""
    return wiring.Signature({
        "req_valid": Out(1), "req_addr": Out(ADDR_BITS), "req_len": Out(LEN_BITS), "req_ready": In(1),
        "resp_valid": In(1), "resp_data": In(line_bits),
    })


def write_client_signature(line_bits: int) -> wiring.Signature:
    return wiring.Signature({
        "valid": Out(1), "addr": Out(ADDR_BITS), "data": Out(line_bits), "ready": In(1),
    })


READ_CLASSES = ("weights", "inputs", "spill")
WRITE_CLASSES = ("spill", "outputs")


class MemorySystem(wiring.Component):
    """Shared off-chip memory; see the module docstring.

    Parameters
    ----------
    words_per_line : int
        ``B``: int8 words per line = words per cycle per channel.
    depth : int
        Lines.
    init : sequence of int
        Initial line contents (replaced at simulation time by ``$readmemh`` when ``+IMAGE=`` is given).
    n_read, n_write : int
        Number of read / write clients.
    latency : int
        Cycles from issuing a line read to its response (>= 1).
    regions : mapping of class name to (first line, end line)
        Address ranges counted separately (``weights``, ``inputs``, ``spill``, ``outputs``).
    """

    def __init__(self, *, words_per_line: int, depth: int, init: Sequence[int], n_read: int, n_write: int,
                 latency: int, regions: Mapping[str, tuple[int, int]]) -> None:
        self.words_per_line = words_per_line
        self.line_bits = 8 * words_per_line
        self.depth = depth
        self.init = list(init)
        self.latency = latency
        self.regions = dict(regions)
        sig = {
            "rd": In(read_client_signature(self.line_bits)).array(n_read),
            "wr": In(write_client_signature(self.line_bits)).array(n_write),
            "stress": In(1),
            "load_image": In(1),
            "load_seen": Out(1),
            "dbg_addr": In(ADDR_BITS),
            "dbg_data": Out(self.line_bits),
        }
        for cls in READ_CLASSES:
            sig[f"rd_{cls}"] = Out(32)
        for cls in WRITE_CLASSES:
            sig[f"wr_{cls}"] = Out(32)
        if n_read < 1 or n_write < 1:
            raise ValueError("the memory system needs at least one read and one write client")
        self.n_read, self.n_write = n_read, n_write
        super().__init__(sig)

    def _in_region(self, addr: Signal, cls: str):
        lo, hi = self.regions.get(cls, (0, 0))
        return (addr >= lo) & (addr < hi)

    def elaborate(self, platform):
        m = Module()
        B = self.words_per_line
        m.submodules.offchip_image = mem = memory.Memory(shape=self.line_bits, depth=self.depth, init=self.init)
        rport = mem.read_port()
        wport = mem.write_port()
        dport = mem.read_port(domain="comb")
        m.d.comb += [dport.addr.eq(self.dbg_addr), self.dbg_data.eq(dport.data)]
        # ``load_image`` triggers the simulation-only $readmemh hook added by hw.designs.emit.
        m.d.sync += self.load_seen.eq(self.load_image)

        # ---- read channel ----
        if self.n_read:
            active = Signal()
            addr = Signal(ADDR_BITS)
            remaining = Signal(LEN_BITS + 1)
            client = Signal(range(max(self.n_read, 2)))
            last_grant = Signal(range(max(self.n_read, 2)))
            stall = random_stall(m, seed=11, enable=self.stress, name="rd")
            issue = Signal()
            m.d.comb += issue.eq(active & ~stall)
            m.d.comb += [rport.addr.eq(addr), rport.en.eq(1)]
            with m.If(issue):
                m.d.sync += [addr.eq(addr + 1), remaining.eq(remaining - 1)]
                with m.If(remaining == 1):
                    m.d.sync += active.eq(0)
                for cls in READ_CLASSES:
                    counter = getattr(self, f"rd_{cls}")
                    with m.If(self._in_region(addr, cls)):
                        m.d.sync += counter.eq(counter + B)
            can_grant = Signal()
            m.d.comb += can_grant.eq(~active | (issue & (remaining == 1)))
            # round-robin: the client after the last granted one has priority
            with m.If(can_grant):
                with m.Switch(last_grant):
                    for last in range(self.n_read):
                        with m.Case(last):
                            order = [(last + 1 + j) % self.n_read for j in range(self.n_read)]
                            with m.If(self.rd[order[0]].req_valid):
                                self._grant(m, order[0], active, addr, remaining, client, last_grant)
                            for idx in order[1:]:
                                with m.Elif(self.rd[idx].req_valid):
                                    self._grant(m, idx, active, addr, remaining, client, last_grant)
            # response pipeline: stage 0 aligns with the synchronous read data
            valid_pipe = [Signal(name=f"rv{i}") for i in range(self.latency)]
            client_pipe = [Signal(range(max(self.n_read, 2)), name=f"rc{i}") for i in range(self.latency)]
            data_pipe = [None] + [Signal(self.line_bits, name=f"rdat{i}") for i in range(1, self.latency)]
            m.d.sync += [valid_pipe[0].eq(issue), client_pipe[0].eq(client)]
            for i in range(1, self.latency):
                m.d.sync += [valid_pipe[i].eq(valid_pipe[i - 1]), client_pipe[i].eq(client_pipe[i - 1])]
                m.d.sync += data_pipe[i].eq(rport.data if i == 1 else data_pipe[i - 1])
            out_data = rport.data if self.latency == 1 else data_pipe[-1]
            for idx in range(self.n_read):
                m.d.comb += [
                    self.rd[idx].resp_valid.eq(valid_pipe[-1] & (client_pipe[-1] == idx)),
                    self.rd[idx].resp_data.eq(out_data),
                ]

        # ---- write channel ----
        if self.n_write:
            wstall = random_stall(m, seed=23, enable=self.stress, name="wr")
            last_w = Signal(range(max(self.n_write, 2)))
            with m.If(~wstall):
                with m.Switch(last_w):
                    for last in range(self.n_write):
                        with m.Case(last):
                            order = [(last + 1 + j) % self.n_write for j in range(self.n_write)]
                            for pos, idx in enumerate(order):
                                port = self.wr[idx]
                                cond = port.valid
                                with (m.If(cond) if pos == 0 else m.Elif(cond)):
                                    m.d.comb += [port.ready.eq(1), wport.en.eq(1),
                                                 wport.addr.eq(port.addr), wport.data.eq(port.data)]
                                    m.d.sync += last_w.eq(idx)
                                    for cls in WRITE_CLASSES:
                                        counter = getattr(self, f"wr_{cls}")
                                        with m.If(self._in_region(port.addr, cls)):
                                            m.d.sync += counter.eq(counter + B)
        return m

    def _grant(self, m, idx, active, addr, remaining, client, last_grant):
        port = self.rd[idx]
        m.d.comb += port.req_ready.eq(1)
        m.d.sync += [active.eq(1), addr.eq(port.req_addr), remaining.eq(port.req_len),
                     client.eq(idx), last_grant.eq(idx)]
