"""ReLU on a vector stream."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Value

from hw.blocks.elementwise import ElementwiseStage
from hw.blocks.pipeline import StagedRegisters


class ReLU(ElementwiseStage):
    """``max(x, 0)`` per element. Latency 1 cycle, 1 beat per cycle (see :class:`ElementwiseStage`).

    Parameters
    ----------
    bits : int
        Element width, 8 or 16.
    width : int
        Elements per beat.

    Attributes
    ----------
    i : In(stream.Signature(ArrayLayout(signed(bits), width)))
        Input vectors.
    o : Out(stream.Signature(ArrayLayout(signed(bits), width)))
        Rectified vectors. Golden model: :func:`hw.golden.activations.relu`.
    """

    _name = "ReLU"

    def element(self, m: Module, x: Value, lane: int, stages: StagedRegisters) -> Value:
        return Mux(x < 0, 0, x)
