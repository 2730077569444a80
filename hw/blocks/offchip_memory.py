"""Off-chip memory model: a word array with a latency/bandwidth-limited read port, a delayed write
port and traffic counters (total and per address region)."""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Cat, Module, Signal, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.blocks.params import check_int, validated
from hw.errors import HwError

_OWNER = "OffchipMemory"


def _check_regions(regions: object, depth: int) -> tuple[tuple[int, int], ...]:
    source = f"{_OWNER}: regions"
    try:
        pairs = tuple((start, stop) for start, stop in regions)  # type: ignore[union-attr]
    except (TypeError, ValueError) as exc:
        raise HwError("must be a sequence of (start, stop) line-address pairs", source=source) from exc
    previous_stop = 0
    for number, (start, stop) in enumerate(pairs):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, stop)):
            raise HwError(f"region {number} bounds must be integers, not ({start!r}, {stop!r})",
                          source=source)
        if not 0 <= start < stop <= depth:
            raise HwError(f"region {number} ({start}, {stop}) must satisfy 0 <= start < stop <= depth "
                          f"({depth})", source=source)
        if start < previous_stop:
            raise HwError(f"region {number} ({start}, {stop}) overlaps or precedes region {number - 1}; "
                          "give regions in increasing, disjoint order", source=source)
        previous_stop = stop
    return pairs


def pack_lines(words: Sequence[int], *, word_bits: int, words_per_cycle: int) -> list[int]:
    """Pack a flat word list into memory lines (word ``j`` of a line at bits ``[j*word_bits, ...)``).
    Negative words are stored in two's complement; the last line is zero-padded."""
    mask = (1 << word_bits) - 1
    lines = []
    for base in range(0, len(words), words_per_cycle):
        line = 0
        for j, word in enumerate(words[base:base + words_per_cycle]):
            line |= (int(word) & mask) << (j * word_bits)
        lines.append(line)
    return lines


class OffchipMemory(wiring.Component):
    """Behavioural off-chip memory (DRAM/HBM channel) for cycle-level accelerator simulation.

    Storage is ``depth`` lines of ``words_per_cycle`` words of ``word_bits`` bits; addresses count lines.
    The line width is the bandwidth: one line moves per cycle on each port.

    Reads: a request ``{addr, count}`` is accepted when the read engine is idle; its ``count`` lines
    (``addr, addr+1, ...``) appear on ``read_resp`` one per cycle, the first ``read_latency`` cycles
    after the request was accepted. ``read_resp`` back-pressure pauses the burst. One request is served
    at a time, so an unstalled request occupies the port for ``read_latency + count`` cycles (a request
    with ``count == 0`` for 1 cycle, returning nothing).

    Writes: ``write`` accepts one ``{addr, data}`` line per cycle (always ready); the line is committed
    to storage ``write_latency`` cycles after acceptance (0: in the same cycle, visible to a read one
    cycle later). Reads are not ordered against writes still in flight; wait for ``busy`` to fall.

    Counters (``counter_bits`` wide, wrapping) count words: ``words_per_cycle`` per response beat
    delivered and per write line accepted, in total and per region of line addresses
    ``[start, stop)``. They are plain outputs, readable at the end of a simulation.

    Parameters
    ----------
    word_bits : int
        Bits per word.
    words_per_cycle : int
        Words per line (bandwidth of each port in words per cycle).
    depth : int
        Number of lines.
    init : sequence of int
        Initial contents as a flat word list (at most ``depth * words_per_cycle``; the rest is zero).
    read_latency : int
        Cycles from accepting a read request to its first response beat, at least 1.
    write_latency : int
        Cycles from accepting a write to committing it, at least 0.
    max_burst : int or None
        Largest ``count`` of a read request (sets the field width); ``None``: ``depth``.
    regions : sequence of (int, int)
        Disjoint line-address ranges ``[start, stop)`` in increasing order with their own counters.
    counter_bits : int
        Width of every counter, 1 to 64.

    Attributes
    ----------
    read_req : In(stream.Signature(StructLayout({"addr": unsigned(addr_bits), "count": unsigned(count_bits)})))
        Read requests: first line address and number of lines.
    read_resp : Out(stream.Signature(ArrayLayout(unsigned(word_bits), words_per_cycle)))
        Read data, one line per beat, in address order.
    write : In(stream.Signature(StructLayout({"addr": unsigned(addr_bits), "data": ArrayLayout(unsigned(word_bits), words_per_cycle)})))
        Write lines (``ready`` is always 1).
    busy : Out(1)
        A read request is being served or a write is in flight.
    words_read, words_written : Out(unsigned(counter_bits))
        Total words delivered / accepted.
    region_words_read, region_words_written : Out(ArrayLayout(unsigned(counter_bits), len(regions)))
        Per-region counts, in the order of ``regions``; present only when ``regions`` is non-empty.
    """

    @validated
    def __init__(self, *, word_bits: int, words_per_cycle: int = 1, depth: int,
                 init: Sequence[int] = (), read_latency: int = 1, write_latency: int = 0,
                 max_burst: int | None = None, regions: Sequence[tuple[int, int]] = (),
                 counter_bits: int = 32) -> None:
        self.word_bits = check_int(_OWNER, "word_bits", word_bits, minimum=1)
        self.words_per_cycle = check_int(_OWNER, "words_per_cycle", words_per_cycle, minimum=1)
        self.depth = check_int(_OWNER, "depth", depth, minimum=1)
        words = list(init)
        if any(isinstance(w, bool) or not isinstance(w, int) for w in words):
            raise HwError("must contain integers only", source=f"{_OWNER}: init")
        low, high = -(1 << (self.word_bits - 1)), (1 << self.word_bits) - 1
        bad = next((w for w in words if not low <= w <= high), None)
        if bad is not None:
            raise HwError(f"word {bad} does not fit {self.word_bits} bits (signed or unsigned)",
                          source=f"{_OWNER}: init")
        capacity = self.depth * self.words_per_cycle
        if len(words) > capacity:
            raise HwError(f"has {len(words)} words but the memory holds {capacity}",
                          source=f"{_OWNER}: init")
        self.init = tuple(words)
        self.read_latency = check_int(_OWNER, "read_latency", read_latency, minimum=1)
        self.write_latency = check_int(_OWNER, "write_latency", write_latency, minimum=0)
        self.max_burst = (self.depth if max_burst is None
                          else check_int(_OWNER, "max_burst", max_burst, minimum=1))
        self.regions = _check_regions(regions, self.depth)
        self.counter_bits = check_int(_OWNER, "counter_bits", counter_bits, minimum=1, maximum=64)

        self.addr_bits = max(1, (self.depth - 1).bit_length())
        self.count_bits = self.max_burst.bit_length()
        line = data.ArrayLayout(unsigned(self.word_bits), self.words_per_cycle)
        self.line_layout = line
        ports = {
            "read_req": In(stream.Signature(data.StructLayout({
                "addr": unsigned(self.addr_bits), "count": unsigned(self.count_bits)}))),
            "read_resp": Out(stream.Signature(line)),
            "write": In(stream.Signature(data.StructLayout({
                "addr": unsigned(self.addr_bits), "data": line}))),
            "busy": Out(1),
            "words_read": Out(unsigned(self.counter_bits)),
            "words_written": Out(unsigned(self.counter_bits)),
        }
        if self.regions:
            counters = data.ArrayLayout(unsigned(self.counter_bits), len(self.regions))
            ports["region_words_read"] = Out(counters)
            ports["region_words_written"] = Out(counters)
        super().__init__(ports)

    def _count(self, m: Module, total: Signal, per_region, addr) -> None:
        step = self.words_per_cycle
        m.d.sync += total.eq(total + step)
        for number, (start, stop) in enumerate(self.regions):
            with m.If((addr >= start) & (addr < stop)):
                m.d.sync += per_region[number].eq(per_region[number] + step)

    def elaborate(self, platform) -> Module:
        m = Module()
        line_bits = self.word_bits * self.words_per_cycle
        m.submodules.storage = storage = memory.Memory(
            shape=unsigned(line_bits), depth=self.depth,
            init=pack_lines(self.init, word_bits=self.word_bits, words_per_cycle=self.words_per_cycle))
        rd = storage.read_port(domain="comb")
        wr = storage.write_port()
        regions_read = self.region_words_read if self.regions else None
        regions_written = self.region_words_written if self.regions else None

        # Read engine: IDLE -> (latency countdown) -> stream `remaining` lines.
        active = Signal()
        wait = Signal(range(self.read_latency))
        addr = Signal(self.addr_bits)
        remaining = Signal(self.count_bits)
        m.d.comb += [
            self.read_req.ready.eq(~active),
            rd.addr.eq(addr),
            self.read_resp.payload.eq(rd.data),
            self.read_resp.valid.eq(active & (wait == 0) & (remaining != 0)),
        ]
        with m.If(self.read_req.valid & ~active):
            m.d.sync += [
                active.eq(1),
                wait.eq(self.read_latency - 1),
                addr.eq(self.read_req.payload.addr),
                remaining.eq(self.read_req.payload.count),
            ]
        with m.If(active):
            with m.If(wait != 0):
                m.d.sync += wait.eq(wait - 1)
            with m.Elif(remaining == 0):
                m.d.sync += active.eq(0)
            with m.Elif(self.read_resp.ready):
                m.d.sync += [addr.eq(addr + 1), remaining.eq(remaining - 1)]
                self._count(m, self.words_read, regions_read, addr)
                with m.If(remaining == 1):
                    m.d.sync += active.eq(0)

        # Write path: accept every cycle, commit after `write_latency` register stages.
        m.d.comb += self.write.ready.eq(1)
        accepted = self.write.valid
        with m.If(accepted):
            self._count(m, self.words_written, regions_written, self.write.payload.addr)
        valid, waddr, wdata = accepted, self.write.payload.addr, self.write.payload.data
        in_flight = []
        for stage in range(self.write_latency):
            stage_valid = Signal(name=f"write_valid{stage}")
            stage_addr = Signal(self.addr_bits, name=f"write_addr{stage}")
            stage_data = Signal(line_bits, name=f"write_data{stage}")
            m.d.sync += [stage_valid.eq(valid), stage_addr.eq(waddr), stage_data.eq(wdata)]
            in_flight.append(stage_valid)
            valid, waddr, wdata = stage_valid, stage_addr, stage_data
        m.d.comb += [wr.en.eq(valid), wr.addr.eq(waddr), wr.data.eq(wdata)]
        m.d.comb += self.busy.eq(active | Cat(*in_flight).any() if in_flight else active)
        return m
