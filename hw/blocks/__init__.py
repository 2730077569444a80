"""Stream building blocks for the accelerator generator: special-function units, line-buffered
pooling/upsampling, softmax, FIFOs and the off-chip memory model. One component per module."""

from __future__ import annotations

from hw.blocks.elementwise_add import ElementwiseAdd
from hw.blocks.elementwise_mul import ElementwiseMul
from hw.blocks.gelu import GeLU
from hw.blocks.maxpool import MaxPool2x2
from hw.blocks.offchip_memory import OffchipMemory
from hw.blocks.pwl import PiecewiseLinear
from hw.blocks.relu import ReLU
from hw.blocks.silu import SiLU
from hw.blocks.softmax import Softmax
from hw.blocks.stream_fifo import StreamFifo
from hw.blocks.upsample import Upsample2x

__all__ = [
    "ElementwiseAdd", "ElementwiseMul", "GeLU", "MaxPool2x2", "OffchipMemory", "PiecewiseLinear",
    "ReLU", "SiLU", "Softmax", "StreamFifo", "Upsample2x",
]
