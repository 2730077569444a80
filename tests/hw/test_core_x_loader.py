"""The off-chip X loader on its own, in Amaranth simulation, against the real off-chip memory model.

It must stream an ``OFFCHIP`` operand once per N tile, a pixel-major operand row by row once per N tile,
a line buffer's lines once, and skip on-chip instructions, with the consumer popping at random.
"""

from __future__ import annotations

import numpy as np
import pytest
from core_units import WithRom, instr, pack, simulate
from hw.core.isa import Dest, XSource
from hw.core.memory_system import MAX_BURST
from hw.core.x_loader import XLoader
from hw.errors import HwError

B = 4


def make_loader(program, lines) -> tuple[XLoader, WithRom]:
    loader = XLoader(words_per_line=B, n_instr=len(program), window_lines=2 * MAX_BURST)
    return loader, WithRom(loader, program, lines=lines, read="rd_x", words_per_line=B, latency=4)


def test_operands_stream_per_tile_per_row_and_once_for_a_line_buffer() -> None:
    rng = np.random.default_rng(13)
    elements = rng.integers(-128, 128, size=128 * B)
    lines = [pack(elements[B * i:B * i + B]) for i in range(128)]
    program = [
        instr(x_src=XSource.OFFCHIP, x_base=2, x_end=20, n_tiles=2, m_bound=5, k_bound=16),    # 20 lines x 2 tiles
        instr(x_src=XSource.SPAD, m_bound=4, k_bound=4),                                     # not the loader's
        instr(x_src=XSource.OFFCHIP, x_base=50, m_outer=True, m_bound=3, n_tiles=2, k_bound=8, dst=Dest.STREAM),
        instr(x_src=XSource.LINEBUF, conv=True, x_base=90, x_end=6, n_tiles=3),               # loaded once
    ]
    expected = np.concatenate([elements[8:88], elements[8:88]]
                              + [elements[200 + 8 * row:208 + 8 * row] for row in range(3) for _ in range(2)]
                              + [elements[360:384]])
    loader, harness = make_loader(program, lines)
    got: list[int] = []

    async def bench(ctx):
        await ctx.tick()
        ctx.set(loader.running, 1)
        ctx.set(loader.mac_index, len(program))
        ctx.set(loader.results_written, 1)
        for _ in range(2000):
            ready = rng.random() < 0.6
            ctx.set(loader.x.ready, ready)
            if ready and ctx.get(loader.x.valid):
                got.append(ctx.get(loader.x.payload))
            await ctx.tick()

    simulate(harness, bench)
    assert np.array_equal(np.array(got), expected)


def test_dependent_operands_wait_for_earlier_results() -> None:
    lines = [pack([i, i, i, i]) for i in range(16)]
    program = [instr(x_src=XSource.OFFCHIP, x_dep=True, x_base=0, x_end=2, k_bound=8)]
    loader, harness = make_loader(program, lines)

    async def bench(ctx):
        await ctx.tick()
        ctx.set(loader.running, 1)
        ctx.set(loader.x.ready, 1)
        for _ in range(30):                        # results of earlier instructions not yet written
            assert not ctx.get(loader.rd_x.req_valid) and not ctx.get(loader.x.valid)
            await ctx.tick()
        ctx.set(loader.results_written, 1)
        for _ in range(30):
            await ctx.tick()
            if ctx.get(loader.x.valid):
                return
        raise AssertionError("the loader did not start once the results were written")

    simulate(harness, bench)


def test_a_window_smaller_than_two_bursts_is_refused() -> None:
    with pytest.raises(HwError, match="XLoader: window_lines"):
        XLoader(words_per_line=4, n_instr=1, window_lines=MAX_BURST)
