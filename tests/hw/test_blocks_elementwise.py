"""Element-wise add and multiply-requant of two streams against the golden models."""

from __future__ import annotations

import numpy as np
import pytest

from hw.blocks import ElementwiseAdd, ElementwiseMul
from hw.golden.elementwise import add_saturate, mul_requant
from hw.golden.fixed import element_range
from hw.sim.amaranth_streams import stream_through


def _operands(seed: int, bits: int, width: int, beats: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    low, high = element_range(bits)
    a = rng.integers(low, high + 1, size=(beats, width))
    b = rng.integers(low, high + 1, size=(beats, width))
    a[:4] = [[high] * width, [low] * width, [high] * width, [low] * width]
    b[:4] = [[high] * width, [low] * width, [low] * width, [-1] * width]
    return a, b


def _run(dut, a: np.ndarray, b: np.ndarray, seed: int) -> np.ndarray:
    out = stream_through(dut, {"a": a.tolist(), "b": b.tolist()}, {"o": len(a)}, seed=seed, stall=0.3)
    return np.asarray(out["o"])


@pytest.mark.parametrize("bits,width", [(8, 4), (16, 2)])
def test_add_saturates_like_golden(bits: int, width: int) -> None:
    a, b = _operands(bits, bits, width, 60)
    got = _run(ElementwiseAdd(bits=bits, width=width), a, b, seed=5)
    want = add_saturate(a, b, bits=bits)
    assert np.array_equal(got, want)
    assert want[0, 0] == element_range(bits)[1] and want[1, 0] == element_range(bits)[0]


@pytest.mark.parametrize("bits,shift", [(8, 0), (8, 5), (16, 12), (16, 30)])
def test_mul_requant_matches_golden(bits: int, shift: int) -> None:
    a, b = _operands(shift, bits, 3, 60)
    got = _run(ElementwiseMul(bits=bits, width=3, shift=shift), a, b, seed=7)
    assert np.array_equal(got, mul_requant(a, b, bits=bits, shift=shift))


def test_mul_requant_golden_rounds_half_up() -> None:
    # 3 * 1 = 3, >> 1 with rounding: (3 + 1) >> 1 = 2; -3 -> (-3 + 1) >> 1 = -1.
    assert mul_requant(np.array([3, -3]), np.array([1, 1]), bits=8, shift=1).tolist() == [2, -1]


@pytest.mark.parametrize("block,latency", [(ElementwiseAdd, 1), (ElementwiseMul, 3)])
def test_binary_latency_and_throughput(block, latency: int) -> None:
    """The first result leaves ``LATENCY`` cycles after the first operands (cycle 0), then one per cycle."""
    dut = block(bits=8, width=2) if block is ElementwiseAdd else block(bits=8, width=2, shift=4)
    assert dut.LATENCY == latency
    a, b = _operands(3, 8, 2, 10)
    cycles: dict[str, list[int]] = {}
    stream_through(dut, {"a": a.tolist(), "b": b.tolist()}, {"o": len(a)}, cycles=cycles)
    assert cycles["o"][0] == latency
    assert np.all(np.diff(cycles["o"]) == 1)
