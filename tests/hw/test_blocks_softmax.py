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
    (8, 4, 16, 4, 0.3), (16, 2, 8, 8, 0.4), (8, 1, 5, 2, 0.0), (16, 4, 4, 3, 0.5),
    (8, 1, 24, 4, 0.8)])     # rows longer than the output FIFO, under heavy back-pressure
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
    # 4 beats, K = 7 + 16 + 4 = 27 (15 quotient bits skipped), two 2-level trees, every level registered
    assert reciprocal_bits(bits, row_len) == 27
    assert dut.row_cycles == 3 * beats + (27 - 14) + 5 + 2 + 2 == 34
    stamps = cycles["o"]
    assert stamps[beats] - stamps[0] == dut.row_cycles   # first beat of row 1 vs row 0
    assert np.all(np.diff(stamps[:beats]) == 1)          # one output beat per cycle


def test_softmax_golden_is_close_to_float_softmax() -> None:
    x = np.random.default_rng(3).integers(-2000, 2000, size=(20, 64))
    got = softmax_rows(x, bits=16, in_frac_bits=8) / 2**15
    real = np.exp(x / 256 - (x / 256).max(axis=1, keepdims=True))
    real /= real.sum(axis=1, keepdims=True)
    assert np.max(np.abs(got - real)) < 2e-4


def _max_position_rows(bits: int, width: int, row_len: int, seed: int) -> np.ndarray:
    """Rows that exercise the per-beat maximum tree: for every lane, a row whose unique maximum sits in
    that lane (in the last beat, so an earlier beat's max must lose), plus random, uniform, all-minimum,
    near-tie and saturated rows."""
    low, high = element_range(bits)
    rng = np.random.default_rng(seed)
    rows = []
    for lane in range(width):
        row = rng.integers(low, low + 40, size=row_len)
        if row_len > width:
            row[(lane + 1) % width] = low + 41                    # the first beat's best is in another lane
        row[row_len - width + lane] = rng.integers(0, high + 1)    # unique max, last beat
        rows.append(row)
    rows.append(rng.integers(low, high + 1, size=row_len))        # random
    rows.append(np.full(row_len, high))                           # uniform at the top
    rows.append(np.full(row_len, low))                            # uniform at the bottom
    one_hot = np.full(row_len, low)
    one_hot[row_len // 2 + 1] = high                              # saturates to the largest probability
    rows.append(one_hot)
    close = rng.integers(-8, 8, size=row_len)                     # many non-zero terms
    close[rng.integers(row_len)] = 8
    rows.append(close)
    return np.asarray(rows, dtype=np.int64)


@pytest.mark.parametrize("bits, width, row_len, in_frac_bits, stall", [
    (8, 16, 32, 4, 0.3),      # the attention core's SFU at 16 lanes (two beats per row)
    (8, 32, 32, 4, 0.2),      # the sequential attention core: one 32-lane beat per row
    (8, 32, 64, 4, 0.0),
    (16, 16, 16, 8, 0.4),
    (8, 5, 10, 2, 0.3),       # odd widths leave an unpaired operand at some tree level
    (8, 6, 12, 4, 0.0),
])
def test_wide_softmax_max_tree_matches_golden(bits: int, width: int, row_len: int, in_frac_bits: int,
                                              stall: float) -> None:
    x = _max_position_rows(bits, width, row_len, seed=width * 100 + row_len)
    dut = Softmax(bits=bits, width=width, row_len=row_len, in_frac_bits=in_frac_bits)
    out = stream_through(dut, {"i": x.reshape(-1, width).tolist()}, {"o": x.size // width},
                         seed=width, stall=stall)
    got = np.asarray(out["o"]).reshape(x.shape)
    want = softmax_rows(x, bits=bits, in_frac_bits=in_frac_bits)
    assert np.array_equal(got, want), np.argwhere(got != want)[:5]
    top = element_range(bits)[1]
    # the rows with the maximum in lane p give p its largest probability (the tree found the right lane)
    for lane in range(width):
        assert int(np.argmax(want[lane])) == row_len - width + lane
    assert want[width + 3, row_len // 2 + 1] == top                   # one-hot row
    assert np.ptp(want[width + 1]) == 0 and np.ptp(want[width + 2]) == 0   # uniform rows stay uniform


def test_softmax_max_tree_grows_linearly_with_the_width() -> None:
    """The row maximum is a balanced tree of named wires: the netlist grows linearly in ``width`` (a
    nested ``Mux`` chain repeats every operand expression per level and grows exponentially)."""
    from amaranth.back import rtlil

    def netlist(width: int) -> str:
        return rtlil.convert(Softmax(bits=8, width=width, row_len=2 * width, in_frac_bits=4), emit_src=False)
    # doubling the width at most doubles the multiplexers (checked width by width, so an exponential
    # netlist fails at width 8 instead of taking minutes to convert at 32)
    previous = netlist(4)
    for width in (8, 16, 32):
        text = netlist(width)
        assert text.count("$mux") <= 2 * previous.count("$mux") + 8, (width, text.count("$mux"))
        assert len(text) < 2.2 * len(previous), (width, len(text), len(previous))
        previous = text
