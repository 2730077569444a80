"""Row softmax approximation: RTL against the golden model, golden against float softmax."""

from __future__ import annotations

import numpy as np
import pytest

from hw.blocks import Softmax
from hw.golden.fixed import element_range
from hw.golden.softmax import reciprocal_bits, softmax_rows
from hw.sim.amaranth_streams import stream_through


def _scores(seed: int, bits: int, rows: int, row_len: int) -> np.ndarray:
    low, high = element_range(bits)
    rng = np.random.default_rng(seed)
    x = rng.integers(low, high + 1, size=(rows, row_len))
    x[0] = high                      # uniform row
    x[1] = low
    x[1, 0] = high                   # one-hot row: saturates to the largest probability
    x[2] = rng.integers(-40, 40, size=row_len)   # close scores: many non-zero terms
    return x


@pytest.mark.parametrize("bits,width,row_len,in_frac_bits,stall", [
    (8, 4, 16, 4, 0.3), (16, 2, 8, 8, 0.4), (8, 1, 5, 2, 0.0), (16, 4, 4, 3, 0.5)])
def test_softmax_matches_golden(bits: int, width: int, row_len: int, in_frac_bits: int, stall: float) -> None:
    x = _scores(row_len, bits, 5, row_len)
    dut = Softmax(bits=bits, width=width, row_len=row_len, in_frac_bits=in_frac_bits)
    out = stream_through(dut, {"i": x.reshape(-1, width).tolist()}, {"o": x.size // width},
                         seed=17, stall=stall)
    got = np.asarray(out["o"]).reshape(x.shape)
    want = softmax_rows(x, bits=bits, in_frac_bits=in_frac_bits)
    assert np.array_equal(got, want)
    assert want[1, 0] == element_range(bits)[1]


def test_softmax_row_takes_documented_cycles() -> None:
    bits, width, row_len = 8, 4, 16
    x = _scores(1, bits, 3, row_len)
    dut = Softmax(bits=bits, width=width, row_len=row_len, in_frac_bits=4)
    cycles: dict[str, list[int]] = {}
    stream_through(dut, {"i": x.reshape(-1, width).tolist()}, {"o": x.size // width}, cycles=cycles)
    beats = row_len // width
    per_row = 3 * beats + reciprocal_bits(bits, row_len) + 1
    stamps = cycles["o"]
    assert stamps[beats] - stamps[0] == per_row          # first beat of row 1 vs row 0
    assert np.all(np.diff(stamps[:beats]) == 1)          # one output beat per cycle


def test_softmax_golden_is_close_to_float_softmax() -> None:
    x = np.random.default_rng(3).integers(-2000, 2000, size=(20, 64))
    got = softmax_rows(x, bits=16, in_frac_bits=8) / 2**15
    real = np.exp(x / 256 - (x / 256).max(axis=1, keepdims=True))
    real /= real.sum(axis=1, keepdims=True)
    assert np.max(np.abs(got - real)) < 2e-4
