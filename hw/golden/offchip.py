"""Timing and traffic of :class:`hw.blocks.offchip_memory.OffchipMemory` (for cost models and tests)."""

from __future__ import annotations

from collections.abc import Sequence


def read_port_cycles(counts: Sequence[int], *, read_latency: int) -> int:
    """Cycles the read port is busy serving bursts of ``counts`` lines back to back, never stalled:
    ``read_latency + count`` each (1 for an empty request)."""
    return sum(read_latency + n if n else 1 for n in counts)


def region_words(requests: Sequence[tuple[int, int]], regions: Sequence[tuple[int, int]], *,
                 words_per_cycle: int) -> list[int]:
    """Words counted per region for bursts ``(addr, count)`` (line addresses, regions ``[start, stop)``)."""
    return [sum(max(0, min(a + n, stop) - max(a, start)) for a, n in requests) * words_per_cycle
            for start, stop in regions]
