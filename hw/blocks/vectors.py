"""Vector payload layouts and element arithmetic shared by the stream blocks.

A beat of a vector stream carries ``width`` signed elements of ``bits`` bits each
(``data.ArrayLayout(signed(bits), width)``); element ``k`` occupies bits ``[k*bits, (k+1)*bits)``.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value, signed
from amaranth.lib import data, stream


def vector_layout(bits: int, width: int) -> data.ArrayLayout:
    """Payload layout of a vector stream: ``width`` signed elements of ``bits`` bits."""
    return data.ArrayLayout(signed(bits), width)


def vector_stream(bits: int, width: int) -> stream.Signature:
    """valid/ready stream signature carrying one vector per beat."""
    return stream.Signature(vector_layout(bits, width))


def element_range(bits: int) -> tuple[int, int]:
    """Smallest and largest value of a signed ``bits``-bit element."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def saturate(value: Value, bits: int) -> Value:
    """Clamp a signed expression to the signed ``bits``-bit range (the result is still wide)."""
    low, high = element_range(bits)
    return Mux(value > high, high, Mux(value < low, low, value))


def maximum(a: Value, b: Value) -> Value:
    """Larger of two signed expressions."""
    return Mux(a > b, a, b)


def wire(m: Module, value: Value, name: str) -> Signal:
    """A combinational signal holding ``value``, so an expression used several times (e.g. a product
    compared and selected by :func:`saturate`) is built once in hardware."""
    signal = Signal(value.shape(), name=name)
    m.d.comb += signal.eq(value)
    return signal
