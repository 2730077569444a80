"""The MAC sequencer on its own, in Amaranth simulation: the loop nest it issues, and what it waits for.

A harness gives it an instruction ROM; weight entries arrive one every few cycles and operands at random.
The steps it issues must walk ``for nt: for m: for k`` (and pixel-major ``for m: for nt: for k``) with the
right weight entries, output rows and first/last flags, never before the step's weight tile is filled;
it must count every step, decode each instruction once, release every weight entry and record when each
instruction finished.
"""

from __future__ import annotations

import numpy as np
import pytest
from core_units import WithRom, instr, simulate
from hw.core.isa import Dest
from hw.core.mac_sequencer import MacSequencer
from hw.errors import HwError


def expected_steps(program) -> list[tuple[int, int, int, int, int]]:
    """``(weight entry, tile end it needs filled, y_row, first, last)`` per step, in issue order."""
    steps, wptr = [], 0
    for i in program:
        k_range, tiles = range(i.k_bound), range(i.n_tiles)
        if i.m_outer:
            order = [(mm, nt) for mm in range(i.m_bound) for nt in tiles]
            for mm, nt in order:
                for k in k_range:
                    base = wptr + nt * i.k_bound
                    steps.append((base + k, base + i.k_bound, i.y_base + mm * i.y_stride + nt * i.y_tinc,
                                  k == 0, k == i.k_bound - 1))
            wptr += i.n_tiles * i.k_bound
        else:
            for nt in tiles:
                for mm in range(i.m_bound):
                    for k in k_range:
                        steps.append((wptr + k, wptr + i.k_bound, i.y_base + mm * i.y_stride + nt * i.y_tinc,
                                      k == 0, k == i.k_bound - 1))
                wptr += i.k_bound
    return steps


def test_steps_walk_the_loop_nest_once_their_weights_are_filled() -> None:
    program = [instr(m_bound=2, n_tiles=2, k_bound=3, y_base=100, y_stride=8, y_tinc=4, dst=Dest.STREAM),
               instr(m_bound=2, n_tiles=2, k_bound=2, y_base=200, y_stride=10, y_tinc=4, m_outer=True)]
    expected = expected_steps(program)
    seq = MacSequencer(n_instr=len(program), wbuf_entries=16, x_chip=True, x_offchip=False)
    harness = WithRom(seq, program)
    rng = np.random.default_rng(29)
    issued: list[tuple] = []

    async def bench(ctx):
        ctx.set(seq.start, 1)
        ctx.set(seq.pipe_empty, 1)
        ctx.set(seq.room, 1)
        ctx.set(seq.quiet, 1)
        filled, cycle = 0, 0
        while not ctx.get(seq.done):
            assert cycle < 500, "the sequencer stalled"
            arrives = cycle % 4 == 3 and filled < 10
            ctx.set(seq.entry_filled, arrives)
            ctx.set(seq.x_chip.valid, rng.random() < 0.7)
            ctx.set(seq.cycle, cycle)
            if ctx.get(seq.issue):
                issued.append((ctx.get(seq.w_addr), filled, ctx.get(seq.meta.y_row), ctx.get(seq.first),
                               ctx.get(seq.last)))
            await ctx.tick()
            filled += arrives
            ctx.set(seq.w_filled, filled)
            cycle += 1
        assert ctx.get(seq.busy) == len(expected) and ctx.get(seq.reconf) == len(program)
        assert ctx.get(seq.w_released) == 10 and ctx.get(seq.retired) == len(program)
        ends = []
        for index in range(len(program)):
            ctx.set(seq.trace_addr, index)
            await ctx.tick()              # a synchronous read port: the entry a cycle later
            ends.append(ctx.get(seq.trace_data))
        assert 0 < ends[0] < ends[1] < cycle

    simulate(harness, bench)
    assert [(w, y, first, last) for w, _, y, first, last in issued] == [(w, y, f, l) for w, _, y, f, l in expected]
    assert all(filled >= need for (_, filled, *_), (_, need, *_) in zip(issued, expected))
    # the fill rate limits it: at least one step waited right at its tile's end
    assert any(filled == need for (_, filled, *_), (_, need, *_) in zip(issued, expected))


def test_bad_buffer_depth_is_refused() -> None:
    with pytest.raises(HwError, match="MacSequencer: wbuf_entries"):
        MacSequencer(n_instr=1, wbuf_entries=12, x_chip=True, x_offchip=False)
