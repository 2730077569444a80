"""2x2 max-pool and 2x upsample line-buffer blocks against the golden models."""

from __future__ import annotations

import numpy as np
import pytest

from hw.blocks import MaxPool2x2, Upsample2x
from hw.golden.fixed import element_range
from hw.golden.pooling import maxpool2x2, upsample2x
from hw.sim.amaranth_streams import stream_through


def _map(seed: int, bits: int, rows: int, cols: int, width: int) -> np.ndarray:
    low, high = element_range(bits)
    x = np.random.default_rng(seed).integers(low, high + 1, size=(rows, cols, width))
    x[0, 0, :] = high
    x[-1, -1, :] = low
    return x


@pytest.mark.parametrize("bits,rows,cols,width,stall", [(8, 6, 8, 2, 0.3), (16, 4, 2, 3, 0.5), (8, 4, 6, 1, 0.0)])
def test_maxpool_matches_golden(bits: int, rows: int, cols: int, width: int, stall: float) -> None:
    # `rows` covers two stacked maps when rows > 2: the block pools them back to back.
    x = _map(rows * cols, bits, rows, cols, width)
    dut = MaxPool2x2(bits=bits, width=width, cols=cols)
    want = maxpool2x2(x)
    out = stream_through(dut, {"i": x.reshape(-1, width).tolist()}, {"o": want.size // width},
                         seed=11, stall=stall)
    assert np.array_equal(np.asarray(out["o"]).reshape(want.shape), want)


@pytest.mark.parametrize("bits,rows,cols,width,stall", [(8, 3, 5, 2, 0.3), (16, 2, 1, 1, 0.5), (8, 4, 4, 3, 0.0)])
def test_upsample_matches_golden(bits: int, rows: int, cols: int, width: int, stall: float) -> None:
    x = _map(rows + cols, bits, rows, cols, width)
    dut = Upsample2x(bits=bits, width=width, cols=cols)
    want = upsample2x(x)
    out = stream_through(dut, {"i": x.reshape(-1, width).tolist()}, {"o": want.size // width},
                         seed=13, stall=stall)
    assert np.array_equal(np.asarray(out["o"]).reshape(want.shape), want)


def test_pooling_throughput_without_stalls() -> None:
    rows, cols, width = 4, 6, 2
    x = _map(0, 8, rows, cols, width).reshape(-1, width).tolist()
    pooled: dict[str, list[int]] = {}
    stream_through(MaxPool2x2(bits=8, width=width, cols=cols), {"i": x}, {"o": rows * cols // 4 // 1},
                   cycles=pooled)
    # Inputs flow at 1 pixel/cycle: the window ending at input pixel p leaves at edge p + 1.
    window_ends = [r * cols + c for r in range(1, rows, 2) for c in range(1, cols, 2)]
    assert pooled["o"] == [p + 1 for p in window_ends]

    upsampled: dict[str, list[int]] = {}
    stream_through(Upsample2x(bits=8, width=width, cols=cols), {"i": x}, {"o": 4 * len(x)}, cycles=upsampled)
    gaps = np.diff(upsampled["o"])
    assert upsampled["o"][0] == 1
    assert sorted(set(gaps.tolist())) == [1, 2] and int(np.sum(gaps == 2)) == rows - 1   # 1 bubble per row
