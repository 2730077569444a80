"""Pseudo-random stall generator for stress runs (random back-pressure without testbench work)."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal


def random_stall(m: Module, *, seed: int, enable: Signal, name: str) -> Signal:
    """A 1-bit signal that is high on about a quarter of cycles while ``enable`` is high.

    A 16-bit Fibonacci LFSR (taps 16, 14, 13, 11) seeded with ``seed`` (non-zero) steps every cycle;
    the stall fires when its two low bits are zero. Different seeds give independent-looking patterns.
    """
    state = Signal(16, init=(seed * 40503 + 1) & 0xFFFF or 1, name=f"{name}_lfsr")
    feedback = state[15] ^ state[13] ^ state[12] ^ state[10]
    m.d.sync += state.eq(Cat(feedback, state[:15]))
    stall = Signal(name=f"{name}_stall")
    m.d.comb += stall.eq(enable & (state[:2] == 0))
    return stall
