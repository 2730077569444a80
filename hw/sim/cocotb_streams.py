"""Helpers for cocotb tests of our designs under Verilator (import only inside cocotb test modules).

Amaranth flattens a stream port ``x`` to ``x__payload``, ``x__valid`` and ``x__ready``; array payloads
are packed with element 0 in the low bits. The stream helpers change inputs just after the falling
edge, read the settled handshake in ``ReadOnly`` and count a beat as transferred at the next rising
edge, so several of them can run concurrently (``cocotb.start_soon``) on one DUT. They await every
clock cycle in Python, which costs far more than the simulated logic: keep such streams short, or let
the design run from preloaded memories and read its counters at the end.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge


def pack(values: Sequence[int], bits: int) -> int:
    """Pack integers (two's complement, ``bits`` each) with element 0 in the low bits."""
    mask = (1 << bits) - 1
    return sum((int(v) & mask) << (k * bits) for k, v in enumerate(values))


def unpack(packed: int, bits: int, count: int, *, signed: bool = True) -> list[int]:
    """Inverse of :func:`pack`."""
    mask = (1 << bits) - 1
    values = [(packed >> (k * bits)) & mask for k in range(count)]
    if signed:
        values = [v - (1 << bits) if v >> (bits - 1) else v for v in values]
    return values


async def reset(dut, cycles: int = 2) -> None:
    """Hold ``rst`` for ``cycles`` rising edges; returns just after a falling edge with ``rst`` low."""
    dut.rst.value = 1
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


async def drive(dut, port: str, beats: Sequence[int], *, stall: float = 0.0,
                rng: random.Random | None = None) -> None:
    """Send packed ``beats`` into the DUT's input stream ``port``; before each beat ``valid`` stays low
    for a geometric number of cycles (probability ``stall`` per cycle). Call right after a falling edge."""
    rng = rng or random.Random()
    payload, valid, ready = (getattr(dut, f"{port}__{s}") for s in ("payload", "valid", "ready"))
    for beat in beats:
        while stall and rng.random() < stall:
            valid.value = 0
            await FallingEdge(dut.clk)
        payload.value = beat
        valid.value = 1
        while True:
            await ReadOnly()
            accepted = bool(int(ready.value))
            await FallingEdge(dut.clk)
            if accepted:
                break
    valid.value = 0


async def collect(dut, port: str, count: int, *, stall: float = 0.0,
                  rng: random.Random | None = None) -> list[int]:
    """Receive ``count`` packed beats from the DUT's output stream ``port``; ``ready`` is low with
    probability ``stall`` in each cycle. Call right after a falling edge."""
    rng = rng or random.Random()
    payload, valid, ready = (getattr(dut, f"{port}__{s}") for s in ("payload", "valid", "ready"))
    beats: list[int] = []
    while len(beats) < count:
        take = not (stall and rng.random() < stall)
        ready.value = int(take)
        await ReadOnly()
        if take and int(valid.value):
            beats.append(int(payload.value))
        await FallingEdge(dut.clk)
    ready.value = 0
    return beats


def start(coroutine) -> cocotb.task.Task:
    """``cocotb.start_soon`` (re-exported so test modules need one import)."""
    return cocotb.start_soon(coroutine)
