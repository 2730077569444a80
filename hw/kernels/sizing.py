"""Size validation and requantisation-shift choice shared by the kernel builders."""

from __future__ import annotations

import math

from hw.errors import HwError


def positive(kernel: str, key: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise HwError(f"must be a positive integer, not {value!r}", source=f"--size {key} ({kernel})")
    return value


def requant_shift(k: int) -> int:
    """Shift that maps a K-term sum of random int8 products back to roughly int8 range (some saturation)."""
    return 6 + math.ceil(math.log2(max(k, 1)) / 2)
