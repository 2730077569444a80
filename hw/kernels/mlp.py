"""3-layer MLP: ``FC1 + ReLU -> FC2 + ReLU -> FC3`` over a batch of ``tokens`` rows.

Scaled from InTAR's 256 -> 1024 -> 2048 -> 256 MLP: the wide second hidden layer is the data-volume
peak (it should not fit the scratchpad budget) while the first hidden layer does.
"""

from __future__ import annotations

from hw.kernels.graph import GemmTask, KernelGraph
from hw.kernels.sizing import positive, requant_shift

DEFAULT_SIZES = {"tokens": 8, "d_in": 32, "d_h1": 128, "d_h2": 384, "d_out": 32}


def build(sizes: dict[str, int] | None = None) -> KernelGraph:
    s = {**DEFAULT_SIZES, **(sizes or {})}
    m, d0, d1, d2, d3 = (positive("mlp", key, s[key]) for key in ("tokens", "d_in", "d_h1", "d_h2", "d_out"))
    tasks = (
        GemmTask("fc1", "x", "w1", m, d0, d1, requant_shift(d0), relu=True),
        GemmTask("fc2", "fc1", "w2", m, d1, d2, requant_shift(d1), relu=True),
        GemmTask("fc3", "fc2", "w3", m, d2, d3, requant_shift(d2)),
    )
    weights = {"w1": (d0, d1), "w2": (d1, d2), "w3": (d2, d3)}
    return KernelGraph("mlp", "x", (m, d0), weights, tasks, sizes=s)
