"""Single-head self-attention: ``O = softmax(Q K^T) V`` with ``Q, K, V = X W_q, X W_k, X W_v``.

Scaled from InTAR's self-attention block (sequence 256, model and head width 1024): ``seq`` tokens of
``d_model`` int8 features, one head of width ``d_head``. The tasks, in chain order:

- ``kt = W_k^T X^T`` (``d_head x seq``): ``K^T`` computed directly, with ``W_k`` stored transposed as the
  X operand and the input's transpose (laid out by the host) as the W operand;
- ``v = X W_v`` and ``q = X W_q`` (``seq x d_head``);
- ``s = softmax(Q K^T)`` (``seq x seq``): ``K^T`` is a *dynamic* weight (its producer writes it off-chip in
  this task's weight-tile layout); each score row goes through the row-softmax SFU (scores in Q.4,
  probabilities in Q0.7);
- ``o = A V`` (``seq x d_head``), ``V`` again a dynamic weight; the shift of 7 undoes the Q0.7 scale.

Q, K and V are the data-volume peak; the score matrix is smaller at these sizes.
"""

from __future__ import annotations

from hw.kernels.graph import GemmTask, KernelGraph
from hw.kernels.sizing import positive, requant_shift

DEFAULT_SIZES = {"seq": 32, "d_model": 32, "d_head": 128}
SCORE_FRAC_BITS = 4
PROB_SHIFT = 7


def build(sizes: dict[str, int] | None = None) -> KernelGraph:
    s = {**DEFAULT_SIZES, **(sizes or {})}
    n, dm, d = (positive("attention", key, s[key]) for key in ("seq", "d_model", "d_head"))
    tasks = (
        GemmTask("kt", "wk_t", "x_t", d, dm, n, requant_shift(dm)),
        GemmTask("v", "x", "wv", n, dm, d, requant_shift(dm)),
        GemmTask("q", "x", "wq", n, dm, d, requant_shift(dm)),
        GemmTask("s", "q", "kt", n, d, n, requant_shift(d), softmax_frac_bits=SCORE_FRAC_BITS),
        GemmTask("o", "s", "v", n, n, d, PROB_SHIFT),
    )
    weights = {"wk_t": (d, dm), "wv": (dm, d), "wq": (dm, d)}
    return KernelGraph("attention", "x", (n, dm), weights, tasks, sizes=s, input_t="x_t")
