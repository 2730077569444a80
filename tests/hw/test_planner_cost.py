"""The cost model against figures derived by hand from the hardware's rules (no simulation).

Verilator checks of the same estimates are in ``test_cocotb_shapes.py`` (15% at odd and random
shapes) and ``benchmarks/hw_cost_model.py`` (a larger random set).
"""

from __future__ import annotations

from hw.api import plan
from hw.core.isa import Dest, XSource
from hw.core.mac_pipeline import LATENCY as MAC_LATENCY
from hw.planner.cost import FETCH_OVERHEAD

#: The FFN dataflow design at these sizes: ``[gated @8] =whole=> [down @8]``.
PREFETCH_SIZES = {"tokens": 2, "d_model": 17, "d_hidden": 135}


def test_a_core_that_prefetches_while_another_streams_takes_its_share_of_the_read_channel():
    design = plan("ffn", "dataflow", sizes=PREFETCH_SIZES)
    (gated,), (down,) = (c.program for c in design.cores)
    budget = design.budget
    B, lat = budget.words_per_cycle, budget.latency
    # gated (8 lanes, K = 20 padded from 17) streams 34 tiles; each reads 20 x 8 / 4 = 40 weight lines
    # and its 10 X lines again, so it is bound by the read channel (50 lines per 2 x 20 MAC cycles)
    assert (gated.n_tiles, gated.k_bound, gated.x_src, gated.x_end, gated.dst) == \
        (34, 20, XSource.OFFCHIP, 10, Dest.STREAM)
    gated_lines = gated.n_tiles * (gated.k_bound * 8 // B + gated.x_end)
    # down (K = 136) needs gated's whole output first, but its three 136-entry tiles all fit its weight
    # buffer, so its fetcher requests all 816 lines at the start, while gated streams
    assert (down.n_tiles, down.k_bound, down.x_src) == (3, 136, XSource.RING)
    assert down.n_tiles * down.k_bound <= design.cores[1].wbuf_entries
    down_lines = down.n_tiles * down.k_bound * 8 // B
    assert (gated_lines, down_lines) == (1700, 816)

    cycles = design.estimate
    assert cycles["read_lines"] == gated_lines + down_lines
    # round-robin bursts share the channel, so gated's last tile is issued only after every line of both
    # cores (2516 cycles); it arrives a round trip later and takes 2 rows x 20 steps, then leaves the MAC
    # pipeline. A model that lets each core use the whole channel ends gated at ~1,900 cycles.
    gated_end = gated_lines + down_lines + FETCH_OVERHEAD + lat + gated.m_bound * gated.k_bound + MAC_LATENCY
    assert gated_end <= cycles["core_end"][0] <= 1.05 * gated_end
    # down's first tile ends K = 136 steps after gated's last element, then two more 2 x 136-step tiles
    down_end = cycles["core_end"][0] + down.k_bound + (down.n_tiles - 1) * down.m_bound * down.k_bound
    assert down_end <= cycles["cycles"] <= 1.05 * down_end
