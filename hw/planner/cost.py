"""Instruction-level cycle estimate of a lowered design (the planner's cost model).

Each core is followed instruction by instruction and, inside an instruction, N tile by N tile:

- **MAC array**: a tile takes ``M * max(K, writer)`` cycles: ``K`` MAC steps per row, the output writer's
  ``L`` (scratchpad/stream, one element per cycle) or ``L / B`` (off-chip lines) cycles per row. It
  cannot start before its whole ``K x L`` weight tile is in the weight buffer.
- **Weight fetcher** (:class:`_WeightFetcher`): it runs ahead of the MAC array as far as the weight buffer
  allows. A tile is requested once the fetcher has issued the previous one's lines (its weight lines,
  then the core's off-chip X lines for that tile) and the buffer has room (the MAC array has released
  enough earlier tiles), and arrives ``FETCH_OVERHEAD + latency`` cycles after its weight lines, plus
  a cycle per X line. So the first tile of a run costs a full round trip, a big tile is fetched before
  it is used, and short tiles in a small buffer are paced by the refill round trip.
- **Read channel** (:class:`_ReadChannel`): one line per cycle for all cores. The memory system grants
  bursts round-robin among the clients that request, so while other cores have lines waiting, a core's
  lines get an equal share of the channel (processor sharing; a core's weight fetcher and X loader
  count as one client). A first pass follows every core alone
  and records its requests (a weight tile when requested, X lines spread over the tile that reads
  them); the second follows each core against the other cores' recorded requests. So a core that
  prefetches all its weights while another streams slows the streaming one down.
- Convolutions and ``m_outer`` GEMMs run pixel-major with all of an instruction's tiles resident
  (``M x N tiles`` steps of ``max(K, writer)`` cycles); the first pixel waits for each tile.

Stream consumers wait for their producer: a ``whole`` ring consumer cannot finish its first N tile
before the producer's last element; a ``chunked`` consumer's instruction ``j`` starts once producer
tile ``j`` is out; a line-buffer (``rows``) consumer starts once its first window is out and ends no
earlier than one of its pixels after the producer's last; a producer gets at most its consumer's ring
(plus the stream FIFO) ahead of the consumer's first read. The design cannot finish before the shared
read channel has moved every line once. A dynamic weight is fetched once its producer core reports the
instruction that wrote it retired, which happens only once that core's datapath is quiet (see
:func:`_quiet_after`). Results leave the pipelined MAC array ``MAC_LATENCY`` cycles after their last
step, and an instruction that accumulates onto partial sums first waits for the pipeline to drain.
Tests compare these estimates with the cycles measured in RTL simulation, at the default and at random
shapes (``benchmarks/hw_cost_model.py`` prints the errors).
"""

from __future__ import annotations

from collections import deque

from hw.core.isa import Dest, XSource
from hw.core.mac_pipeline import LATENCY as MAC_LATENCY
from hw.core.memory_system import MAX_BURST
from hw.planner.plan import CorePlan, DesignPlan

#: Cycles the weight fetcher and the memory pipeline add to a tile's read round trip (its TILE, SIZE and
#: BURST steps, the request and response registers).
FETCH_OVERHEAD = 4
#: Cycles a core spends decoding an instruction.
DECODE = 1
#: Lines below which a fluid backlog counts as empty (rounding).
_EPS = 1e-6


def _step_time(instr, lanes: int, B: int) -> int:
    """Cycles per row of one N tile: ``K`` MAC steps, or the output writer if it is slower."""
    width = instr.results_per_tile(lanes)
    if instr.acc_out:
        writer = 0
    elif instr.dst == Dest.OFFCHIP:
        writer = width // B
    else:
        writer = width
    return max(instr.k_bound, writer)


class _ReadChannel:
    """The shared off-chip read channel as one core sees it: one line per cycle, shared with the other
    cores' requests (their ``(request time, lines)`` from the previous pass).

    The memory system grants whole bursts (up to ``MAX_BURST`` lines) round-robin among the clients that
    request, so over a tile's bursts every client with lines waiting gets an equal share: a fluid
    processor sharing between this core and each other core with a backlog. While this core does not
    request, the others use the whole channel."""

    def __init__(self, others: dict[int, list[tuple[float, int]]]) -> None:
        self.arrivals = sorted((t, core, lines) for core, requests in others.items() for t, lines in requests)
        self.next = 0                          # first arrival not yet queued
        self.backlog: dict[int, float] = {}    # per other core: lines requested and not yet issued
        self.clock = 0.0                       # the channel is followed up to here

    def _queue_arrivals(self) -> float:
        """Queue the requests made by ``clock``; returns the time of the next one."""
        while self.next < len(self.arrivals) and self.arrivals[self.next][0] <= self.clock:
            _, core, lines = self.arrivals[self.next]
            self.backlog[core] = self.backlog.get(core, 0.0) + lines
            self.next += 1
        return self.arrivals[self.next][0] if self.next < len(self.arrivals) else float("inf")

    def _share(self, until: float, own: float) -> float:
        """Serve the backlogs (and ``own`` lines of this core, if any) from ``clock`` towards ``until``,
        stopping when a backlog empties, a request arrives or ``own`` is done; returns own lines issued."""
        waiting = [core for core, left in self.backlog.items() if left > _EPS]
        clients = len(waiting) + (own > 0)
        if clients == 0:
            self.clock = until
            return 0.0
        rate = 1.0 / clients
        span = min([until - self.clock, own / rate if own > 0 else float("inf")]
                   + [self.backlog[c] / rate for c in waiting])
        for core in waiting:
            left = self.backlog[core] - span * rate
            self.backlog[core] = left if left > _EPS else 0.0
        self.clock += span
        return span * rate if own > 0 else 0.0

    def issue(self, when: float, lines: int) -> float:
        """This core requests ``lines`` at ``when`` (not earlier than its previous request); returns when
        the last of them is issued."""
        while self.clock < when:                       # the others alone until then
            self._share(min(when, self._queue_arrivals()), 0.0)
        left = float(lines)
        while left > _EPS:
            left -= self._share(self._queue_arrivals(), left)
        return self.clock


class _WeightFetcher:
    """One core's weight fetcher, tile by tile (see the module docstring)."""

    def __init__(self, entries: int, latency: int, channel: _ReadChannel) -> None:
        self.entries = entries
        self.latency = latency
        self.channel = channel
        self.requests: list[tuple[float, int]] = []       # (request time, lines), for the other cores' view
        self.free_at = 0.0                                 # when it may issue its next tile's lines
        self.held: deque[tuple[float, int]] = deque()      # (release time, entries) of buffered tiles
        self.used = 0

    def fetch(self, entries: int, lines: int, x_lines: int, not_before: float) -> float:
        """Request a tile of ``entries`` buffer entries and ``lines`` weight lines (no earlier than
        ``not_before``), after which the core's X loader reads ``x_lines`` for it; returns when the
        tile is complete in the buffer."""
        issue = max(self.free_at, not_before)
        while self.used + entries > self.entries and self.held:
            released, size = self.held.popleft()      # room: wait for the MAC array to free a tile
            self.used -= size
            issue = max(issue, released)
        self.used += entries
        self.requests.append((issue, lines))
        weights_in = self.channel.issue(issue, lines)
        self.free_at = self.channel.issue(weights_in, x_lines) if x_lines else weights_in
        return weights_in + x_lines + FETCH_OVERHEAD + self.latency

    def release(self, entries: int, when: float) -> None:
        self.held.append((when, entries))

    def stream(self, lines: int, begin: float, end: float) -> None:
        """Record X lines the core reads while it computes from ``begin`` to ``end`` (bursts spread
        evenly), for the other cores' view of the channel."""
        bursts = -(-lines // MAX_BURST)
        for i in range(bursts):
            self.requests.append((begin + (end - begin) * i / bursts, min(MAX_BURST, lines - i * MAX_BURST)))


def _run(instr, core: CorePlan, B: int, start: float, fetcher: _WeightFetcher, fetch_after: float,
         x_lines: int) -> tuple[float, float]:
    """(first MAC step, end) of ``instr`` started at ``start`` (its weights requested no earlier than
    ``fetch_after``; ``x_lines`` off-chip X lines per N tile follow each tile's weight lines)."""
    k, lanes = instr.k_bound, core.lanes
    lines = k * lanes // B
    step = _step_time(instr, lanes, B)
    t = start + DECODE + (MAC_LATENCY if instr.acc_init else 0)
    if instr.pixel_major:
        ready = [fetcher.fetch(k, lines, x_lines, fetch_after) for _ in range(instr.n_tiles)]
        first = max(t, ready[0])
        for r in ready:                 # the first pixel uses each tile as it arrives
            t = max(t, r) + step
        end = t + (instr.m_bound - 1) * instr.n_tiles * step
        for _ in ready:
            fetcher.release(k, end)
        return first, end
    compute = instr.m_bound * step
    first = None
    for _ in range(instr.n_tiles):
        t = max(t, fetcher.fetch(k, lines, x_lines, fetch_after))
        first = t if first is None else first
        fetcher.stream(x_lines, t, t + compute)
        t += compute
        fetcher.release(k, t)
    return first, t


def _after_whole_input(start: float, p_end: float, first_tile: float, k: int) -> float:
    """Start of a consumer of a whole input ring: its first N tile cannot end before the producer's
    last element (``k`` steps of the last row after it), so its tiles (and any stream it produces) run
    from then on."""
    return max(start, p_end + k - first_tile)


def _quiet_after(plan: DesignPlan, core: int, index: int) -> tuple[int, int]:
    """The instruction of ``core`` at whose end its retired count first shows instruction ``index``.

    A core reports retired instructions only while its MAC pipeline and output path are empty, which
    does not happen while it runs instructions back to back: it is at the end of its program or before
    an instruction that waits (``x_dep``/``w_dep``)."""
    program = plan.cores[core].program
    j = index
    while j + 1 < len(program) and not (program[j + 1].x_dep or program[j + 1].w_dep):
        j += 1
    return core, j


def estimate(plan: DesignPlan) -> dict[str, float]:
    """Estimated total cycles, per-core end cycles and off-chip lines.

    Two passes when there are several cores: the first follows each core alone and finds when each
    stream consumer starts reading; the second shares the read channel with the other cores' requests
    of the first and holds every producer to at most its consumer's ring (plus the stream FIFO) ahead
    of that reader."""
    result, consumer_start, requests = _follow(plan, {}, {})
    if len(plan.cores) > 1:
        result, _, _ = _follow(plan, consumer_start, requests)
    return result


def _follow(plan: DesignPlan, consumer_start: dict[int, float], requests: dict[int, list[tuple[float, int]]]
            ) -> tuple[dict[str, float], dict[int, float], dict[int, list[tuple[float, int]]]]:
    """One pass over every core (see :func:`estimate`), each sharing the read channel with the other
    cores' ``requests`` of the previous pass; also returns when each consumer starts reading and this
    pass's requests per core."""
    B = plan.budget.words_per_cycle
    lat = plan.budget.latency
    producer_of = {s.consumer: s.producer for s in plan.streams}
    stream_to = {s.producer: s for s in plan.streams}
    reads_from: dict[int, float] = {}
    # per core: (start, cycles per output row or tile, end) of its stream-producing instruction
    stream_timing: dict[int, tuple[float, float, float]] = {}
    ends: list[float] = []
    instr_end: dict[tuple[int, int], float] = {}
    read_lines = 0
    write_lines = 0
    own_requests: dict[int, list[tuple[float, int]]] = {}
    for ci, core in enumerate(plan.cores):
        t = float(lat)
        others = {other: r for other, r in requests.items() if other != ci}
        fetcher = _WeightFetcher(core.wbuf_entries, lat, _ReadChannel(others))
        for index, instr in enumerate(core.program):
            step = _step_time(instr, core.lanes, B)
            read_lines += instr.n_tiles * instr.k_bound * core.lanes // B
            if instr.x_src == XSource.OFFCHIP:
                read_lines += instr.n_tiles * instr.x_end
            elif instr.x_src == XSource.LINEBUF:
                read_lines += instr.x_end
            if instr.dst == Dest.OFFCHIP and not instr.acc_out:
                write_lines += instr.m_bound * instr.n_tiles * instr.results_per_tile(core.lanes) // B
            start = t
            fetch_after = 0.0
            if instr.w_dep:
                # dynamic weights: fetched once their producer has written them and its datapath is quiet
                fetch_after = instr_end[_quiet_after(plan, instr.w_core, instr.w_count - 1)]
            if instr.x_dep:
                start += 2
            floor = 0.0          # producer-paced streams: the instruction cannot end before this
            if instr.x_src == XSource.RING:
                p_start, p_per, p_end = stream_timing[producer_of[ci]]
                if instr.conv:
                    # line buffer: the first output row's window in, one own pixel after the producer's last
                    rows_before = (1 >> instr.up)       # full input rows before the window's last row
                    start = max(start, p_start + (rows_before * instr.in_w + 2) * p_per)
                    floor = p_end + instr.n_tiles * step
                elif instr.x_rows:
                    # row stream: the first row in, one own row after the producer's last
                    start = max(start, p_start + p_per)
                    floor = p_end + instr.n_tiles * step
                elif instr.x_tlog == 15 and not (instr.acc_init or instr.acc_out):
                    # whole ring of a row-major stream: pixel-major reads wait for rows as they arrive;
                    # otherwise the first N tile waits for the producer's last row
                    if instr.m_outer:
                        floor = p_end + instr.n_tiles * step
                    else:
                        start = _after_whole_input(start, p_end, instr.m_bound * step, instr.k_bound)
                elif instr.x_tlog == 15:
                    # chunked: instruction j needs producer column tile j
                    j = instr.x_base // (instr.m_bound * instr.k_bound)
                    start = max(start, p_start + (j + 1) * p_per)
                else:
                    start = _after_whole_input(start, p_end, instr.m_bound * step, instr.k_bound)
            x_lines = instr.x_end if instr.x_src == XSource.OFFCHIP and not instr.pixel_major else 0
            first, own_end = _run(instr, core, B, start, fetcher, fetch_after, x_lines)
            if instr.x_src == XSource.LINEBUF:              # a line buffer, read while the instruction runs
                fetcher.stream(instr.x_end, first, own_end)
            elif instr.x_src == XSource.OFFCHIP and not x_lines:     # pixel-major rows, once per N tile
                fetcher.stream(instr.n_tiles * instr.x_end, first, own_end)
            end = max(own_end, floor)
            if instr.x_src == XSource.RING:
                reads_from.setdefault(ci, first)
            if instr.dst == Dest.STREAM:
                units = instr.m_bound if instr.pixel_major else instr.n_tiles      # output rows / N tiles
                per = (end - start) / units
                stream = stream_to[ci]
                if stream.consumer in consumer_start:
                    # back-pressure: only a ring (and the FIFO) of results can wait for the consumer to read
                    unit_elems = (instr.n_tiles if instr.pixel_major else instr.m_bound) * \
                        instr.results_per_tile(core.lanes)
                    ahead = (plan.cores[stream.consumer].ring_words + stream.depth) // unit_elems
                    own_per = (own_end - first) / units      # its own pace once the consumer reads
                    end = max(end, consumer_start[stream.consumer] + max(0, units - ahead) * own_per)
                stream_timing[ci] = (start, per, end)
            t = end
            instr_end[(ci, index)] = end
        ends.append(t + MAC_LATENCY)       # the last results leave the MAC pipeline
        own_requests[ci] = fetcher.requests
    total = max(max(ends), read_lines + lat, write_lines)
    return {"cycles": float(total), "read_lines": float(read_lines), "write_lines": float(write_lines),
            "core_end": [float(e) for e in ends]}, reads_from, own_requests
