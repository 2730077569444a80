"""Bad constructor parameters raise HwError naming the block and the parameter."""

from __future__ import annotations

import pytest

from hw.blocks import (ElementwiseAdd, ElementwiseMul, GeLU, MaxPool2x2, OffchipMemory, ReLU, SiLU,
                       Softmax, StreamFifo, Upsample2x)
from hw.errors import HwError
from soc_emu.errors import SocEmuError


@pytest.mark.parametrize("make,message", [
    (lambda: ReLU(bits=12, width=4), "ReLU: bits: must be one of 8, 16, not 12"),
    (lambda: ReLU(bits=8, width=0), "ReLU: width: must be at least 1, not 0"),
    (lambda: ReLU(bits=8, width=2.0), "ReLU: width: must be an integer, not 2.0"),
    (lambda: ElementwiseAdd(bits=True, width=2), "ElementwiseAdd: bits: must be an integer, not True"),
    (lambda: ElementwiseMul(bits=8, width=2, shift=15), "ElementwiseMul: shift: must be at most 14, not 15"),
    (lambda: ElementwiseMul(bits=8, width=2, shift=-1), "ElementwiseMul: shift: must be at least 0, not -1"),
    (lambda: GeLU(bits=8, width=2, frac_bits=7), "GeLU: frac_bits: must be at most 6, not 7"),
    (lambda: SiLU(bits=32, width=2, frac_bits=4), "SiLU: bits: must be one of 8, 16, not 32"),
    (lambda: MaxPool2x2(bits=8, width=1, cols=5), "MaxPool2x2: cols: must be even, not 5"),
    (lambda: MaxPool2x2(bits=8, width=1, cols=0), "MaxPool2x2: cols: must be at least 2, not 0"),
    (lambda: Upsample2x(bits=16, width=1, cols=0), "Upsample2x: cols: must be at least 1, not 0"),
    (lambda: Softmax(bits=8, width=3, row_len=8, in_frac_bits=2),
     "Softmax: row_len: must be a multiple of width (3), not 8"),
    (lambda: Softmax(bits=8, width=2, row_len=8, in_frac_bits=8),
     "Softmax: in_frac_bits: must be at most 7, not 8"),
    (lambda: StreamFifo(shape="wide", depth=4), "StreamFifo: shape: must be a shape, not 'wide'"),
    (lambda: StreamFifo(shape=8, depth=1), "StreamFifo: depth: must be at least 2, not 1"),
    (lambda: OffchipMemory(word_bits=8, depth=0), "OffchipMemory: depth: must be at least 1, not 0"),
    (lambda: OffchipMemory(word_bits=8, depth=2, init=[1, 2, 3]),
     "OffchipMemory: init: has 3 words but the memory holds 2"),
    (lambda: OffchipMemory(word_bits=8, depth=2, init=[1.5]), "OffchipMemory: init: must contain integers only"),
    (lambda: OffchipMemory(word_bits=8, depth=2, init=[256]),
     "OffchipMemory: init: word 256 does not fit 8 bits (signed or unsigned)"),
    (lambda: OffchipMemory(word_bits=8, depth=4, read_latency=0),
     "OffchipMemory: read_latency: must be at least 1, not 0"),
    (lambda: OffchipMemory(word_bits=8, depth=8, regions=[(0, 4), (3, 8)]),
     "OffchipMemory: regions: region 1 (3, 8) overlaps or precedes region 0; give regions in increasing, "
     "disjoint order"),
    (lambda: OffchipMemory(word_bits=8, depth=8, regions=[(0, 9)]),
     "OffchipMemory: regions: region 0 (0, 9) must satisfy 0 <= start < stop <= depth (8)"),
    (lambda: OffchipMemory(word_bits=8, depth=8, regions=[5]),
     "OffchipMemory: regions: must be a sequence of (start, stop) line-address pairs"),
    (lambda: OffchipMemory(word_bits=8, depth=8, counter_bits=65),
     "OffchipMemory: counter_bits: must be at most 64, not 65"),
])
def test_bad_parameter_message(make, message: str) -> None:
    with pytest.raises(HwError) as info:
        make()
    assert str(info.value) == message
    assert isinstance(info.value, SocEmuError)
