"""Element-wise product of two vector streams with shift-and-saturate requantisation (gated FFNs)."""

from __future__ import annotations

from amaranth.hdl import Module, Value

from hw.blocks.binary import BinaryStage
from hw.blocks.pipeline import StagedRegisters
from hw.blocks.params import check_bits, check_int, validated
from hw.blocks.vectors import saturate, wire


class ElementwiseMul(BinaryStage):
    """``o = saturate((a * b + 2**(shift-1)) >> shift)`` per element (round half up; no rounding term
    when ``shift == 0``). Latency 3 cycles, 1 beat per cycle: registered operands, a registered multiply
    (a ``MULT18X18D``), then the rounding, shift and saturation into the output register, so that a
    LUT-RAM FIFO read in front of ``b`` (as in a core's gated epilogue) is not in the multiply's cycle.

    With operands in Q``f`` use ``shift = f`` to keep the result in Q``f``.

    Parameters
    ----------
    bits : int
        Element width, 8 or 16.
    width : int
        Elements per beat.
    shift : int
        Right shift applied to the full-precision product, ``0 <= shift <= 2 * bits - 2``.

    Attributes
    ----------
    a, b : In(stream.Signature(ArrayLayout(signed(bits), width)))
        Operands, consumed together.
    o : Out(stream.Signature(ArrayLayout(signed(bits), width)))
        Requantised products. Golden model: :func:`hw.golden.elementwise.mul_requant`.
    """

    _name = "ElementwiseMul"
    LATENCY = 3

    @validated
    def __init__(self, *, bits: int, width: int, shift: int) -> None:
        bits = check_bits(self._name, bits)
        self.shift = check_int(self._name, "shift", shift, minimum=0, maximum=2 * bits - 2)
        super().__init__(bits=bits, width=width)

    def combine(self, m: Module, a: Value, b: Value, lane: int, stages: StagedRegisters) -> Value:
        rounding = (1 << (self.shift - 1)) if self.shift else 0
        product = stages.stage(stages.stage(a, f"a{lane}") * stages.stage(b, f"b{lane}"), f"product{lane}")
        return saturate(wire(m, (product + rounding) >> self.shift, f"scaled{lane}"), self.bits)
