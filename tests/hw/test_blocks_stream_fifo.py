"""Stream FIFO: order preserved under random stalls, level never exceeds depth."""

from __future__ import annotations

import numpy as np

from hw.blocks import StreamFifo
from hw.blocks.vectors import vector_layout
from hw.sim.amaranth_streams import receive, send


def test_fifo_preserves_order_and_bounds_level() -> None:
    dut = StreamFifo(shape=vector_layout(16, 2), depth=4)
    beats = np.random.default_rng(0).integers(-(1 << 15), 1 << 15, size=(100, 2)).tolist()
    seen: dict[str, object] = {"max_level": 0}

    async def producer(ctx) -> None:
        await send(ctx, dut.i, beats, rng=np.random.default_rng(1), stall=0.2)

    async def consumer(ctx) -> None:
        seen["out"] = await receive(ctx, dut.o, len(beats), rng=np.random.default_rng(2), stall=0.6)

    async def monitor(ctx) -> None:
        async for _, _, level in ctx.tick().sample(dut.level):
            seen["max_level"] = max(seen["max_level"], level)

    from amaranth.sim import Simulator
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.add_testbench(monitor, background=True)
    sim.run()
    assert seen["out"] == beats
    assert seen["max_level"] == 4     # the slow consumer fills it
