"""The register slice of :mod:`hw.blocks.pipeline` in Amaranth simulation.

A source offers numbered beats at random and a consumer takes them at random (its ``take`` decided
combinationally from the slice's ``valid``, as the MAC sequencer does). Every beat must come out once,
in order; with both sides always willing the slice passes one beat per cycle; and the source's ready and
the output must be registers: they never change within a cycle whatever ``take`` does.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from core_units import simulate

from hw.blocks.pipeline import register_slice


class Slice(wiring.Component):
    """A register slice on 8-bit beats with the consumer's willingness as an input."""

    def __init__(self) -> None:
        super().__init__({"valid": In(1), "payload": In(8), "ready": Out(1), "willing": In(1),
                          "out_valid": Out(1), "out_payload": Out(8), "take": Out(1)})

    def elaborate(self, platform):
        m = Module()
        take = Signal()
        ready, valid, payload = register_slice(m, self.valid, self.payload, take)
        m.d.comb += [take.eq(self.willing & valid), self.ready.eq(ready), self.out_valid.eq(valid),
                     self.out_payload.eq(payload), self.take.eq(take)]
        return m


def run(offer_rate: float, take_rate: float, beats: int, seed: int) -> tuple[list[int], int]:
    """Beats taken in order and the cycles it took."""
    dut = Slice()
    rng = np.random.default_rng(seed)
    taken: list[int] = []
    cycles = [0]

    async def bench(ctx):
        sent = 0
        while len(taken) < beats:
            assert cycles[0] < 20 * beats, "the slice stalled"
            offering = sent < beats and rng.random() < offer_rate
            ctx.set(dut.valid, offering)
            ctx.set(dut.payload, sent % 256)
            ctx.set(dut.willing, 0)
            ready, out_valid, out_payload = ctx.get(dut.ready), ctx.get(dut.out_valid), ctx.get(dut.out_payload)
            ctx.set(dut.willing, rng.random() < take_rate)
            # registers: the consumer's decision this cycle changes none of them
            assert (ctx.get(dut.ready), ctx.get(dut.out_valid), ctx.get(dut.out_payload)) == (ready, out_valid,
                                                                                                out_payload)
            if ctx.get(dut.take):
                taken.append(out_payload)
            if offering and ready:
                sent += 1
            await ctx.tick()
            cycles[0] += 1

    simulate(dut, bench)
    return taken, cycles[0]


def test_every_beat_comes_out_once_in_order() -> None:
    taken, _ = run(offer_rate=0.7, take_rate=0.5, beats=300, seed=3)
    assert taken == [i % 256 for i in range(300)]


def test_the_slice_passes_one_beat_per_cycle() -> None:
    taken, cycles = run(offer_rate=1.0, take_rate=1.0, beats=100, seed=4)
    assert taken == list(range(100))
    assert cycles == 100 + 1          # one cycle to fill the output register
