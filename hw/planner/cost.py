"""Instruction-level cycle estimate of a lowered design (the planner's cost model).

Per instruction and N tile the core needs ``max(M * max(K, writer), weight lines)`` cycles: ``K`` MAC
steps per row, the output writer's ``L`` (scratchpad/stream, one element per cycle) or ``L / B``
(off-chip lines) cycles per row, and the tile's ``K * L / B`` weight lines on the shared read channel.
Stream consumers wait for their producer: a ``whole`` ring consumer cannot finish its first N tile
before the producer's last element; a ``chunked`` consumer's instruction ``j`` starts once producer
tile ``j`` is out. Convolutions run pixel-major (``M x N tiles`` steps of ``max(K, writer)`` cycles,
all weight tiles loaded first; so do ``m_outer`` GEMMs); a line-buffer (``rows``) consumer starts once its first window is
out and ends no earlier than one of its pixels after the producer's last. The design cannot finish
before the shared read channel has moved every line once. An instruction whose weights are dynamic
starts an off-chip latency after its producer core reports the instruction that wrote them retired,
which happens only once that core's datapath is quiet (see :func:`_quiet_after`). Results leave the pipelined MAC array
``MAC_LATENCY`` cycles after their last step, and an instruction that accumulates onto partial sums
first waits for the pipeline to drain.
A test compares these estimates with the cycles measured in RTL simulation.
"""

from __future__ import annotations

from hw.core.isa import Dest, XSource
from hw.core.mac_pipeline import LATENCY as MAC_LATENCY
from hw.planner.plan import CorePlan, DesignPlan

#: Cycles the weight fetcher and the memory pipeline add to a tile's read round trip (its TILE, SIZE and
#: BURST steps, the request and response registers).
FETCH_OVERHEAD = 4


def _tile_time(instr, core: CorePlan, B: int, latency: int) -> float:
    """Cycles per N tile (pixel-major: per pixel and N tile) of ``instr`` on ``core``."""
    lanes = core.lanes
    width = instr.results_per_tile(lanes)
    if instr.acc_out:
        writer = 0
    elif instr.dst == Dest.OFFCHIP:
        writer = width // B
    else:
        writer = width
    if instr.pixel_major:
        return max(instr.k_bound, writer)      # per pixel and N tile; weights counted per instruction
    compute = instr.m_bound * max(instr.k_bound, writer)
    lines = instr.k_bound * lanes // B
    # the fetcher requests a tile once the one `slots` tiles earlier is released, and it arrives a read
    # latency later: with few tiles in the buffer and short tiles, that round trip sets the pace
    slots = max(1, core.wbuf_entries // instr.k_bound)
    refill = (FETCH_OVERHEAD + latency + lines + compute) / slots
    return max(compute, lines, refill)


def _duration(instr, core: CorePlan, B: int, latency: int) -> float:
    tile = _tile_time(instr, core, B, latency)
    if instr.acc_init:
        # partial sums are read once the previous instruction's last ones left the MAC pipeline
        return MAC_LATENCY + _steps(instr, core.lanes, B, tile)
    return _steps(instr, core.lanes, B, tile)


def _steps(instr, lanes: int, B: int, tile: float) -> float:
    if instr.pixel_major:
        return 1 + instr.k_bound * instr.n_tiles * lanes // B + instr.m_bound * instr.n_tiles * tile
    return 1 + instr.n_tiles * tile


def _after_whole_input(start: float, duration: float, p_end: float, tile: float, k: int) -> tuple[float, float]:
    """(start, end) of a consumer of a whole input ring: its first N tile cannot end before the producer's
    last element (``k`` steps of the last row after it), so the tiles (and any stream it produces) run
    from then on."""
    start = max(start, p_end + k - tile)
    return start, start + duration


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
    """Estimated total cycles, per-core busy-bound cycles and off-chip lines."""
    B = plan.budget.words_per_cycle
    lat = plan.budget.latency
    producer_of = {s.consumer: s.producer for s in plan.streams}
    # per core: (start, tile_time, n_tiles, end) of its stream-producing instruction
    stream_timing: dict[int, tuple[float, float, int, float]] = {}
    ends: list[float] = []
    instr_end: dict[tuple[int, int], float] = {}
    read_lines = 0
    write_lines = 0
    for ci, core in enumerate(plan.cores):
        t = float(lat)
        for index, instr in enumerate(core.program):
            tile = _tile_time(instr, core, B, lat)
            duration = _duration(instr, core, B, lat)
            read_lines += instr.n_tiles * instr.k_bound * core.lanes // B
            if instr.x_src == XSource.OFFCHIP:
                read_lines += instr.n_tiles * instr.x_end
            elif instr.x_src == XSource.LINEBUF:
                read_lines += instr.x_end
            if instr.dst == Dest.OFFCHIP and not instr.acc_out:
                write_lines += instr.m_bound * instr.n_tiles * instr.results_per_tile(core.lanes) // B
            start = t
            if instr.w_dep:
                # dynamic weights: fetched once their producer has written them and its datapath is quiet
                start = max(start, instr_end[_quiet_after(plan, instr.w_core, instr.w_count - 1)] + lat)
            end = start + duration
            if instr.x_dep:
                start += 2
                end += 2
            if instr.x_src == XSource.RING:
                p_start, p_tile, p_tiles, p_end = stream_timing[producer_of[ci]]
                if instr.conv:
                    # line buffer: the first output row's window in, one own pixel after the producer's last
                    pixel = instr.n_tiles * tile
                    rows_before = (1 >> instr.up)       # full input rows before the window's last row
                    start = max(start, p_start + (rows_before * instr.in_w + 2) * p_tile)
                    end = max(start + duration, p_end + pixel)
                elif instr.x_rows:
                    # row stream: the first row in, one own row after the producer's last
                    row = instr.n_tiles * tile
                    start = max(start, p_start + p_tile)
                    end = max(start + duration, p_end + row)
                elif instr.x_tlog == 15 and not (instr.acc_init or instr.acc_out):
                    # whole ring of a row-major stream: pixel-major reads wait for rows as they arrive;
                    # otherwise the first N tile waits for the producer's last row
                    if instr.m_outer:
                        end = max(start + duration, p_end + instr.n_tiles * tile)
                    else:
                        start, end = _after_whole_input(start, duration, p_end, tile, instr.k_bound)
                elif instr.x_tlog == 15:
                    # chunked: instruction j needs producer column tile j
                    j = instr.x_base // (instr.m_bound * instr.k_bound)
                    start = max(start, p_start + (j + 1) * p_tile)
                    end = start + duration
                else:
                    start, end = _after_whole_input(start, duration, p_end, tile, instr.k_bound)
            if instr.dst == Dest.STREAM:
                per = instr.n_tiles * tile if instr.pixel_major else tile   # per output pixel/row
                stream_timing[ci] = (start, per, instr.n_tiles, end)
            t = end
            instr_end[(ci, index)] = end
        ends.append(t + MAC_LATENCY)       # the last results leave the MAC pipeline
    total = max(max(ends), read_lines + lat, write_lines)
    return {"cycles": float(total), "read_lines": float(read_lines), "write_lines": float(write_lines),
            "core_end": [float(e) for e in ends]}
