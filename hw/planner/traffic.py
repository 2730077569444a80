"""Off-chip traffic a design must move, derived from its programs (what the RTL counters must show).

Per instruction: its weight tiles (``n_tiles x K x L`` words from ``w_base``), its X operand if read from
off-chip (``n_tiles x M x K`` words streamed per N tile, or the map once into a line buffer) and its
off-chip results (``M x n_tiles x`` results-per-row words). Each access is counted in the class
(``weights``, ``inputs``, ``spill``, ``outputs``) of the region it falls in, like the memory model does.
"""

from __future__ import annotations

from collections import Counter

from hw.core.isa import Dest, XSource
from hw.planner.plan import DesignPlan


def offchip_words(plan: DesignPlan) -> dict[str, int]:
    """Expected ``rd_weights``, ``rd_inputs``, ``rd_spill``, ``wr_spill`` and ``wr_outputs`` counters."""
    B = plan.budget.words_per_cycle
    ranges = plan.class_ranges()

    def kind(line: int) -> str:
        return next(name for name, (lo, hi) in ranges.items() if lo <= line < hi)

    reads: Counter[str] = Counter()
    writes: Counter[str] = Counter()
    for core in plan.cores:
        for i in core.program:
            reads[kind(i.w_base)] += i.n_tiles * i.k_bound * core.lanes
            if i.x_src == XSource.OFFCHIP:
                reads[kind(i.x_base)] += i.n_tiles * i.m_bound * i.k_bound
            elif i.x_src == XSource.LINEBUF:
                reads[kind(i.x_base)] += i.x_end * B
            if i.dst == Dest.OFFCHIP and not i.acc_out:
                writes[kind(i.y_base // B)] += i.m_bound * i.n_tiles * i.results_per_tile(core.lanes)
    return {"rd_weights": reads["weights"], "rd_inputs": reads["inputs"], "rd_spill": reads["spill"],
            "wr_spill": writes["spill"], "wr_outputs": writes["outputs"]}
