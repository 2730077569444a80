"""The output writer on its own, in Amaranth simulation: groups to the scratchpad, the stream and off-chip.

Groups of every destination (and gated half groups) are pushed; the stream and the off-chip channel
accept at random. Every element must land at its address (scratchpad), in order (stream), or as whole
lines at ``addr / B + i`` (off-chip); ``Dest.NONE`` groups vanish, and ``idle`` holds once all is written.
"""

from __future__ import annotations

import numpy as np
import pytest

from core_units import pack, simulate, unpack
from hw.core.isa import Dest
from hw.core.output_writer import OutputWriter
from hw.errors import HwError

LANES, B = 8, 4


def test_groups_reach_every_destination_in_order() -> None:
    rng = np.random.default_rng(17)
    groups = [(Dest.SPAD, 100, False), (Dest.STREAM, 0, False), (Dest.OFFCHIP, 64, False), (Dest.NONE, 0, False),
              (Dest.SPAD, 300, True), (Dest.OFFCHIP, 128, True), (Dest.STREAM, 0, True)]
    data = [rng.integers(-128, 128, size=LANES) for _ in groups]
    writer = OutputWriter(lanes=LANES, words_per_line=B, spad=True, stream_out=True, offchip=True)
    spad: dict[int, int] = {}
    streamed: list[int] = []
    lines: dict[int, np.ndarray] = {}

    async def push(ctx):
        for (dst, addr, half), values in zip(groups, data):
            ctx.set(writer.groups.valid, 1)
            ctx.set(writer.groups.payload, {"data": pack(values), "addr": addr, "dst": dst, "half": half})
            await ctx.tick().until(writer.groups.ready)
        ctx.set(writer.groups.valid, 0)
        for _ in range(200):
            await ctx.tick()
        assert ctx.get(writer.idle)

    async def sink(ctx):
        while True:
            s_ready, w_ready = rng.random() < 0.5, rng.random() < 0.5
            ctx.set(writer.s_out.ready, s_ready)
            ctx.set(writer.wr.ready, w_ready)
            if ctx.get(writer.spad_en):
                spad[ctx.get(writer.spad_addr)] = ctx.get(writer.spad_data)
            if s_ready and ctx.get(writer.s_out.valid):
                streamed.append(ctx.get(writer.s_out.payload))
            if w_ready and ctx.get(writer.wr.valid):
                lines[ctx.get(writer.wr.addr)] = unpack(ctx.get(writer.wr.data), B)
            await ctx.tick()

    simulate(writer, push, background=[sink])
    signed = [v if v < 128 else v - 256 for v in spad.values()]
    assert sorted(spad) == list(range(100, 108)) + list(range(300, 304))
    assert signed == list(data[0]) + list(data[4][:4])
    assert [v if v < 128 else v - 256 for v in streamed] == list(data[1]) + list(data[6][:4])
    assert sorted(lines) == [16, 17, 32]
    assert np.array_equal(np.concatenate([lines[16], lines[17]]), data[2])
    assert np.array_equal(lines[32], data[5][:4])


def test_lanes_must_fill_whole_lines() -> None:
    with pytest.raises(HwError, match="OutputWriter: lanes"):
        OutputWriter(lanes=2, words_per_line=4)
