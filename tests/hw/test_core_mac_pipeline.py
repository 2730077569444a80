"""The pipelined MAC array on its own, in Amaranth simulation: rows of int8 MACs against numpy.

A small harness gives it what the core gives it: a block-RAM weight buffer read in the cycle a step is
issued, and a partial-sum memory it reads and writes itself. Rows are issued with random gaps; every
requantised result must equal ``saturate((init + sum(x * w)) >> shift)`` (optional ReLU), and partial
sums written by one row must be what a later ``init`` row accumulates onto.
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import memory, wiring
from amaranth.sim import Simulator

from hw.core.mac_pipeline import LATENCY, MacPipeline
from hw.errors import HwError

LANES = 4


class Harness(wiring.Component):
    def __init__(self, weights: np.ndarray, psum_entries: int = 8) -> None:
        self.weights = weights
        self.psum_entries = psum_entries
        super().__init__({"w_addr": wiring.In(8)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.pipe = self.pipe = pipe = MacPipeline(lanes=LANES, meta_bits=8)
        words = [sum((int(v) & 0xFF) << (8 * lane) for lane, v in enumerate(row)) for row in self.weights]
        m.submodules.wbuf = wbuf = memory.Memory(shape=8 * LANES, depth=len(words), init=words)
        m.submodules.psum = psum = memory.Memory(shape=32 * LANES, depth=self.psum_entries, init=[])
        read, write, wport = psum.read_port(), psum.write_port(), wbuf.read_port()
        m.d.comb += [wport.addr.eq(self.w_addr), pipe.w.eq(wport.data),
                     read.addr.eq(pipe.psum_rd_addr), pipe.psum_rd_data.eq(read.data),
                     write.en.eq(pipe.psum_wr_en), write.addr.eq(pipe.psum_wr_addr), write.data.eq(pipe.psum_wr_data)]
        return m


def _saturate(values: np.ndarray, relu: bool) -> np.ndarray:
    return np.clip(values, 0 if relu else -128, 127)


def test_rows_match_numpy_with_gaps_partial_sums_and_relu() -> None:
    rng = np.random.default_rng(7)
    K = 5
    weights = rng.integers(-128, 128, size=(K, LANES))
    # rows: (x values, init from psum?, write to psum?, shift, relu, psum address)
    rows = [(rng.integers(-128, 128, size=K), False, True, 0, False, 3),     # partial sums into entry 3
            (rng.integers(-128, 128, size=K), False, False, 6, False, 0),
            (rng.integers(-128, 128, size=K), True, False, 7, True, 3),      # accumulates onto entry 3
            (np.full(K, 127), False, False, 0, False, 0),                    # saturates high
            (np.full(K, -128), False, False, 2, True, 0)]                    # ReLU clamps to 0
    harness = Harness(weights)
    expected, psum = [], {}
    for x, init, to_psum, shift, relu, addr in rows:
        total = (psum[addr] if init else 0) + x.astype(np.int64) @ weights
        if to_psum:
            psum[addr] = total
        else:
            expected.append(_saturate(total >> shift, relu))
    got: list[np.ndarray] = []

    async def drive(ctx):
        pipe = harness.pipe     # built when the simulator elaborates the harness
        for meta, (x, init, to_psum, shift, relu, addr) in enumerate(rows):
            for k in range(K):
                while rng.random() < 0.3:           # random idle cycles between steps
                    ctx.set(pipe.issue, 0)
                    await ctx.tick()
                ctx.set(harness.w_addr, k)
                for name, value in (("issue", 1), ("x", int(x[k])), ("first", k == 0), ("last", k == K - 1),
                                    ("init", init), ("to_psum", to_psum), ("shift", shift), ("relu", relu),
                                    ("psum_addr", addr), ("meta", meta)):
                    ctx.set(getattr(pipe, name), int(value))
                await ctx.tick()
            ctx.set(pipe.issue, 0)
        for _ in range(LATENCY + 2):
            await ctx.tick()

    async def collect(ctx):
        pipe = harness.pipe     # built when the simulator elaborates the harness
        async for _, _, q_valid, q in ctx.tick().sample(pipe.q_valid, pipe.q):
            if q_valid:
                got.append(np.array([((int(q) >> (8 * lane)) & 0xFF) for lane in range(LANES)]).astype(np.int8))

    sim = Simulator(harness)
    sim.add_clock(1e-8)
    sim.add_testbench(drive)
    sim.add_testbench(collect, background=True)
    sim.run()
    assert len(got) == len(expected)
    for index, (g, e) in enumerate(zip(got, expected)):
        assert np.array_equal(g.astype(np.int64), e), f"row {index}: {g} != {e}"


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(HwError, match="MacPipeline: lanes"):
        MacPipeline(lanes=0, meta_bits=4)
    with pytest.raises(HwError, match="MacPipeline: meta_bits"):
        MacPipeline(lanes=4, meta_bits=0)
