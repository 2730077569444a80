"""The weight fetcher on its own, in Amaranth simulation, against the real off-chip memory model.

Two instructions' weight tiles are fetched into an 8-entry circular buffer. With nothing released the
fetcher stops once the buffer holds as many whole tiles as fit; as entries are released it fetches the
rest. Every entry read back through the synchronous read port must equal the weights in memory.
"""

from __future__ import annotations

import numpy as np
import pytest
from core_units import WithRom, instr, pack, simulate, unpack
from hw.core.weight_fetcher import WeightFetcher
from hw.errors import HwError

LANES, B, DEPTH = 8, 4, 8


def test_tiles_fill_the_buffer_as_it_is_released_and_read_back_exact() -> None:
    rng = np.random.default_rng(11)
    # instruction 0: 2 tiles of 3 entries from line 0; instruction 1: 1 tile of 4 entries from line 40
    program = [instr(k_bound=3, n_tiles=2, w_base=0), instr(k_bound=4, n_tiles=1, w_base=40)]
    weights = rng.integers(-128, 128, size=(64, B))
    lines = [pack(row) for row in weights]
    entries = [weights[2 * e:2 * e + 2].reshape(-1) for e in range(6)]          # L/B = 2 lines per entry
    entries += [weights[40 + 2 * e:42 + 2 * e].reshape(-1) for e in range(4)]
    fetcher = WeightFetcher(lanes=LANES, words_per_line=B, depth=DEPTH, n_instr=len(program))
    harness = WithRom(fetcher, program, lines=lines, read="rd_w", words_per_line=B)

    async def settle(ctx, cycles: int) -> int:
        for _ in range(cycles):
            await ctx.tick()
        return ctx.get(fetcher.filled)

    async def read(ctx, entry: int) -> np.ndarray:
        ctx.set(fetcher.rd_addr, entry % DEPTH)
        await ctx.tick()
        return unpack(ctx.get(fetcher.rd_data), LANES)

    async def bench(ctx):
        await ctx.tick()
        ctx.set(fetcher.running, 1)
        # 3 + 3 entries fit; the 4-entry tile does not until entries are released
        assert await settle(ctx, 80) == 6
        for entry in range(6):
            assert np.array_equal(await read(ctx, entry), entries[entry])
        ctx.set(fetcher.released, 2)           # 6 + 4 - 2 = 8 <= 8: the last tile now fits
        assert await settle(ctx, 60) == 10
        for entry in range(6, 10):
            assert np.array_equal(await read(ctx, entry), entries[entry])

    simulate(harness, bench)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(HwError, match="WeightFetcher: depth"):
        WeightFetcher(lanes=8, words_per_line=4, depth=6, n_instr=1)
    with pytest.raises(HwError, match="WeightFetcher: lanes"):
        WeightFetcher(lanes=2, words_per_line=4, depth=8, n_instr=1)
