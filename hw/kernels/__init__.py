"""Kernel task graphs (GEMM-shaped tasks) and their numpy integer golden models."""

from __future__ import annotations

from typing import Callable

import numpy as np

from hw.errors import HwError
from hw.kernels import attention, cnn, ffn, mlp
from hw.kernels.graph import GemmTask, KernelGraph

BUILDERS: dict[str, Callable[[dict[str, int] | None], KernelGraph]] = {
    "mlp": mlp.build,
    "ffn": ffn.build,
    "cnn": cnn.build,
    "attention": attention.build,
}
DEFAULT_SIZES: dict[str, dict[str, int]] = {
    "mlp": mlp.DEFAULT_SIZES,
    "ffn": ffn.DEFAULT_SIZES,
    "cnn": cnn.DEFAULT_SIZES,
    "attention": attention.DEFAULT_SIZES,
}

#: Budget fields a kernel sets differently from :class:`hw.planner.Budget`'s defaults.
DEFAULT_BUDGETS: dict[str, dict[str, int]] = {
    "attention": {"lanes": 32, "cores": 5},
}


def random_sizes(name: str, rng: np.random.Generator, *, low: float = 0.125, high: float = 1.5) -> dict[str, int]:
    """Sizes of kernel ``name`` drawn uniformly between ``low`` and ``high`` times each default (at least
    1): odd, unaligned shapes for the tests and benchmarks of padding and of the cost model."""
    return {key: int(rng.integers(max(1, int(low * value)), max(2, int(high * value)) + 1))
            for key, value in DEFAULT_SIZES[name].items()}


def build_kernel(name: str, sizes: dict[str, int] | None = None) -> KernelGraph:
    """The task graph of kernel ``name`` at ``sizes`` (defaults fill missing keys)."""
    if name not in BUILDERS:
        raise HwError(f"unknown kernel {name!r}; known: {', '.join(sorted(BUILDERS))}", source="--kernel")
    unknown = set(sizes or {}) - set(DEFAULT_SIZES[name])
    if unknown:
        raise HwError(f"unknown size key(s) {sorted(unknown)} for {name}; known: "
                      f"{sorted(DEFAULT_SIZES[name])}", source="--size")
    return BUILDERS[name](sizes)


__all__ = ["BUILDERS", "DEFAULT_BUDGETS", "DEFAULT_SIZES", "GemmTask", "KernelGraph", "build_kernel",
           "random_sizes"]
