"""What the units of a compute core share: counter width and the power-of-two check of their sizes."""

from __future__ import annotations

from hw.errors import HwError

#: Width of cycle, element and entry counters.
CNT_BITS = 32


def log2_exact(value: int, what: str) -> int:
    """``log2(value)`` of a power of two; anything else is refused as ``what``."""
    if not isinstance(value, int) or value < 1 or value & (value - 1):
        raise HwError(f"must be a power of two, not {value!r}", source=what)
    return value.bit_length() - 1
