"""Stream drivers for Amaranth-simulator testbenches (``Simulator.add_testbench``, async).

Both helpers insert random idle cycles (``stall`` probability per beat / per cycle) drawn from the
caller's ``numpy.random.Generator`` so tests exercise valid/ready back-pressure reproducibly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


def _to_python(value: Any) -> Any:
    """A sampled payload as an int or a (nested) list of ints."""
    if isinstance(value, int):
        return value
    try:
        return [_to_python(v) for v in value]
    except TypeError:
        return int(value.as_value().value) if hasattr(value, "as_value") else int(value)


async def send(ctx, stream, beats: Iterable[Any], *, rng: np.random.Generator | None = None,
               stall: float = 0.0) -> None:
    """Drive ``beats`` into a stream (the DUT's ``In`` stream), honouring ``ready``.

    Each beat is anything ``ctx.set`` accepts for the payload (an int, a list for an ``ArrayLayout``,
    a dict for a ``StructLayout``). Before each beat, ``valid`` stays low for a geometric number of
    cycles with success probability ``1 - stall``.
    """
    for beat in beats:
        while rng is not None and stall > 0 and rng.random() < stall:
            await ctx.tick()
        ctx.set(stream.payload, beat)
        ctx.set(stream.valid, 1)
        await ctx.tick().until(stream.ready)
        ctx.set(stream.valid, 0)


async def receive(ctx, stream, count: int, *, rng: np.random.Generator | None = None,
                  stall: float = 0.0, cycles: list[int] | None = None) -> list[Any]:
    """Collect ``count`` beats from a stream (the DUT's ``Out`` stream).

    ``ready`` is low in each cycle with probability ``stall``. Returns the payloads as ints or lists of
    ints (``ArrayLayout`` payloads) in arrival order. If ``cycles`` is given, the clock cycle (counted
    from 0 at the first edge) of each accepted beat is appended to it.
    """
    beats: list[Any] = []
    cycle = 0
    while len(beats) < count:
        ready = not (rng is not None and stall > 0 and rng.random() < stall)
        ctx.set(stream.ready, int(ready))
        _, _, valid, payload = await ctx.tick().sample(stream.valid, stream.payload)
        if ready and valid:
            beats.append(_to_python(payload))
            if cycles is not None:
                cycles.append(cycle)
        cycle += 1
    ctx.set(stream.ready, 0)
    return beats


def run_testbenches(dut, *testbenches, clock_period: float = 1e-8, deadline_cycles: int = 1_000_000,
                    vcd: str | None = None) -> None:
    """Simulate ``dut`` with a clock and the given async testbenches until all of them return.

    A background watchdog raises ``TimeoutError`` after ``deadline_cycles`` clock periods, so a hung
    handshake fails the test instead of spinning forever. ``vcd`` writes a waveform file.
    """
    from amaranth.sim import Simulator

    async def watchdog(ctx) -> None:
        await ctx.delay(deadline_cycles * clock_period)
        raise TimeoutError(f"testbenches still running after {deadline_cycles} cycles")

    sim = Simulator(dut)
    sim.add_clock(clock_period)
    for testbench in testbenches:
        sim.add_testbench(testbench)
    sim.add_testbench(watchdog, background=True)
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()


def stream_through(dut, inputs: dict[str, Iterable[Any]], outputs: dict[str, int], *, seed: int = 0,
                   stall: float = 0.0, deadline_cycles: int = 1_000_000,
                   cycles: dict[str, list[int]] | None = None) -> dict[str, list[Any]]:
    """Feed ``inputs`` (port name -> beats) into ``dut`` and collect ``outputs`` (port name -> beat
    count), with random stalls of probability ``stall`` on every port; returns port name -> beats.

    Each port gets its own generator spawned from ``seed``, so stall patterns are reproducible. If
    ``cycles`` is a dict, ``cycles[name]`` receives the arrival cycle of each output beat (cycle 0 is the
    first clock edge, when the first input beat can be accepted).
    """
    generators = iter(np.random.default_rng(seed).spawn(len(inputs) + len(outputs)))
    collected: dict[str, list[Any]] = {}

    def sender(name: str, beats: list[Any], rng: np.random.Generator):
        async def testbench(ctx) -> None:
            await send(ctx, getattr(dut, name), beats, rng=rng, stall=stall)
        return testbench

    def receiver(name: str, count: int, rng: np.random.Generator):
        async def testbench(ctx) -> None:
            stamps = cycles.setdefault(name, []) if cycles is not None else None
            collected[name] = await receive(ctx, getattr(dut, name), count, rng=rng, stall=stall,
                                            cycles=stamps)
        return testbench

    testbenches = [sender(name, list(beats), next(generators)) for name, beats in inputs.items()]
    testbenches += [receiver(name, count, next(generators)) for name, count in outputs.items()]
    run_testbenches(dut, *testbenches, deadline_cycles=deadline_cycles)
    return collected
