"""ReLU, PWL GeLU and SiLU: RTL (Amaranth simulator) against the golden models, plus golden accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hw.blocks import GeLU, ReLU, SiLU
from hw.golden.activations import gelu, relu, silu
from hw.golden.fixed import element_range
from hw.sim.amaranth_streams import stream_through


def _vectors(rng: np.random.Generator, bits: int, width: int, beats: int) -> np.ndarray:
    """Random elements with the extremes of the range always present."""
    low, high = element_range(bits)
    x = rng.integers(low, high + 1, size=(beats, width))
    x[0, :] = low
    x[1, :] = high
    x[2, :] = 0
    return x


def _run_unary(dut, x: np.ndarray, seed: int) -> np.ndarray:
    out = stream_through(dut, {"i": x.tolist()}, {"o": len(x)}, seed=seed, stall=0.3)
    return np.asarray(out["o"])


@pytest.mark.parametrize("bits,width", [(8, 4), (16, 3)])
def test_relu_matches_golden(bits: int, width: int) -> None:
    x = _vectors(np.random.default_rng(bits), bits, width, 60)
    assert np.array_equal(_run_unary(ReLU(bits=bits, width=width), x, seed=1), relu(x))


@pytest.mark.parametrize("block,golden,bits,frac_bits", [
    (GeLU, gelu, 8, 4), (GeLU, gelu, 8, 0), (GeLU, gelu, 16, 10), (SiLU, silu, 8, 4), (SiLU, silu, 16, 11)])
def test_pwl_activation_matches_golden(block, golden, bits: int, frac_bits: int) -> None:
    rng = np.random.default_rng(frac_bits)
    x = _vectors(rng, bits, 4, 80)
    # Also every threshold and its neighbours, where segment selection could be off by one.
    dut = block(bits=bits, width=4, frac_bits=frac_bits)
    table = dut.table
    low, high = element_range(bits)
    edges = sorted({min(max(t + d, low), high) for t in table.thresholds for d in (-1, 0, 1)})
    x = np.concatenate([x, np.resize(np.asarray(edges), (math.ceil(len(edges) / 4), 4))])
    got = _run_unary(dut, x, seed=3)
    assert np.array_equal(got, golden(x, bits=bits, frac_bits=frac_bits))


@pytest.mark.parametrize("golden,exact,frac_bits,tolerance", [
    (gelu, lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))), 10, 0.03),
    (silu, lambda v: v / (1 + math.exp(-v)), 11, 0.06)])
def test_pwl_golden_approximates_the_real_function(golden, exact, frac_bits: int, tolerance: float) -> None:
    x = np.arange(-(1 << 15), 1 << 15, 7)
    got = golden(x, bits=16, frac_bits=frac_bits) / (1 << frac_bits)
    want = np.array([exact(v / (1 << frac_bits)) for v in x])
    assert np.max(np.abs(got - want)) < tolerance


def test_pwl_golden_saturates_large_inputs() -> None:
    # Right of the last breakpoint the output is x itself; x = 127 (7.94 in Q4) stays 127.
    assert gelu(np.array([127, -128]), bits=8, frac_bits=4).tolist() == [127, 0]


@pytest.mark.parametrize("block,latency", [(ReLU, 1), (GeLU, 4), (SiLU, 4)])
def test_activation_latency_and_throughput(block, latency: int) -> None:
    """The first result leaves ``LATENCY`` cycles after the first input (cycle 0), then one per cycle."""
    kwargs = {} if block is ReLU else {"frac_bits": 4}
    dut = block(bits=8, width=2, **kwargs)
    assert dut.LATENCY == latency
    x = _vectors(np.random.default_rng(5), 8, 2, 12)
    cycles: dict[str, list[int]] = {}
    stream_through(dut, {"i": x.tolist()}, {"o": len(x)}, cycles=cycles)
    assert cycles["o"][0] == latency
    assert np.all(np.diff(cycles["o"]) == 1)


def test_a_held_output_fills_the_pipeline_and_its_skid_register_then_stops_the_input() -> None:
    """With ``o`` never ready, SiLU takes exactly LATENCY + 1 beats (its stages and the skid register)
    and then holds ``i.ready`` low; released, it delivers them all in order."""
    from hw.sim.amaranth_streams import receive, run_testbenches

    dut = SiLU(bits=8, width=1, frac_bits=4)
    x = [[v] for v in range(-20, 20, 3)]
    accepted: list[int] = []

    async def sender(ctx) -> None:
        ctx.set(dut.i.valid, 1)
        for cycle in range(3 * dut.LATENCY):
            ctx.set(dut.i.payload, x[len(accepted)])
            _, _, ready = await ctx.tick().sample(dut.i.ready)
            if ready:
                accepted.append(cycle)
        ctx.set(dut.i.valid, 0)

    got: list = []

    async def receiver(ctx) -> None:
        await ctx.tick().repeat(3 * dut.LATENCY + 1)
        got.extend(await receive(ctx, dut.o, dut.LATENCY + 1))

    run_testbenches(dut, sender, receiver, deadline_cycles=200)
    assert accepted == list(range(dut.LATENCY + 1))
    assert got == silu(np.asarray(x[:dut.LATENCY + 1]), bits=8, frac_bits=4).tolist()
