"""Instruction encoding of the compute core."""

from __future__ import annotations

import pytest

from hw.core.isa import INSTR_LAYOUT, Dest, Instruction, XSource


def _instr(**overrides) -> Instruction:
    fields = dict(task="t", m_bound=8, n_tiles=4, k_bound=32, x_src=XSource.SPAD, x_base=17, x_stride=32,
                  w_base=1234, dst=Dest.OFFCHIP, y_base=4096, y_stride=64, shift=9, relu=True)
    fields.update(overrides)
    return Instruction(**fields)


def test_fields_pack_at_their_layout_offsets():
    word = _instr().encode()
    fields = dict(iter(INSTR_LAYOUT))
    def get(name):
        f = fields[name]
        width = f.width
        return (word >> f.offset) & ((1 << width) - 1)
    assert get("m_bound") == 8 and get("k_bound") == 32 and get("w_base") == 1234
    assert get("x_src") == XSource.SPAD and get("dst") == Dest.OFFCHIP and get("relu") == 1
    assert get("y_base") == 4096 and get("shift") == 9 and get("x_tlog") == 15


def test_out_of_range_field_is_rejected():
    with pytest.raises(ValueError, match="m_bound"):
        _instr(m_bound=1 << 12).encode()


def test_json_names_the_selects():
    data = _instr().to_json()
    assert data["x_src"] == "spad" and data["dst"] == "offchip" and data["relu"] is True
