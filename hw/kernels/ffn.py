"""LLM-style gated FFN: ``out = (SiLU(X W_up) * (X W_gate)) W_down`` over ``tokens`` rows.

Scaled from InTAR's LLaMA-7B gating network (batch 32, d 4096, hidden 11008, ratio ~2.7): the hidden
activations (``tokens x d_hidden``, and twice that before gating) are the data-volume peak and should
not fit the scratchpad budget; the input and output rows are small. The up and gate projections run as
one gated task (both weight matrices interleaved per lane tile) so SiLU and the product happen on the
output stream.
"""

from __future__ import annotations

from hw.kernels.graph import GemmTask, KernelGraph
from hw.kernels.sizing import positive, requant_shift

DEFAULT_SIZES = {"tokens": 8, "d_model": 32, "d_hidden": 384}
FRAC_BITS = 4


def build(sizes: dict[str, int] | None = None) -> KernelGraph:
    s = {**DEFAULT_SIZES, **(sizes or {})}
    m, d, h = (positive("ffn", key, s[key]) for key in ("tokens", "d_model", "d_hidden"))
    tasks = (
        GemmTask("gated", "x", "w_up", m, d, h, requant_shift(d), w_gate="w_gate", frac_bits=FRAC_BITS),
        GemmTask("down", "gated", "w_down", m, h, d, requant_shift(h) + 1),
    )
    weights = {"w_up": (d, h), "w_gate": (d, h), "w_down": (h, d)}
    return KernelGraph("ffn", "x", (m, d), weights, tasks, sizes=s)
