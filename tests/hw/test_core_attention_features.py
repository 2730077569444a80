"""The compute core's attention features: pixel-major GEMMs (``m_outer``), cross-core weight semaphores
(``w_dep``/``w_core``/``w_count``), the row-softmax epilogue (``softmax``) and row-released rings
(``x_rows``): their encoding, the checks the core makes on a program, and which datapaths and ports a
program makes the core build."""

from __future__ import annotations

import pytest

from hw.core.isa import INSTR_LAYOUT, Dest, Instruction, XSource
from hw.errors import HwError


def _instr(**overrides) -> Instruction:
    fields = dict(task="s", m_bound=32, n_tiles=1, k_bound=64, x_src=XSource.SPAD, x_base=0, x_stride=64,
                  w_base=512, dst=Dest.SPAD, y_base=2048, y_stride=32, y_tinc=32, shift=9)
    fields.update(overrides)
    return Instruction(**fields)


def _field(word: int, name: str) -> int:
    field = dict(iter(INSTR_LAYOUT))[name]
    return (word >> field.offset) & ((1 << field.width) - 1)


def test_attention_fields_pack_at_their_layout_offsets():
    word = _instr(m_outer=True, softmax=True, w_dep=True, w_core=4, w_count=37).encode()
    assert [_field(word, n) for n in ("m_outer", "softmax", "w_dep", "w_core", "w_count")] == [1, 1, 1, 4, 37]
    assert _field(word, "k_bound") == 64 and _field(word, "w_base") == 512 and _field(word, "y_tinc") == 32
    plain = _instr().encode()
    assert [_field(plain, n) for n in ("m_outer", "softmax", "w_dep", "w_core", "w_count")] == [0] * 5
    # the new fields change only their own bits
    assert word ^ plain == sum(_field(word, n) << dict(iter(INSTR_LAYOUT))[n].offset
                               for n in ("m_outer", "softmax", "w_dep", "w_core", "w_count"))


def test_x_rows_packs_its_own_bit_and_reports_a_boolean():
    ring = dict(x_src=XSource.RING, m_outer=True, x_stride=64, x_tlog=15, x_tstride=0, x_end=32 * 64)
    rows = _instr(**ring, x_rows=True)
    whole = _instr(**ring)
    assert _field(rows.encode(), "x_rows") == 1 and _field(whole.encode(), "x_rows") == 0
    # the flag changes only its own bit
    assert rows.encode() ^ whole.encode() == 1 << dict(iter(INSTR_LAYOUT))["x_rows"].offset
    assert rows.to_json()["x_rows"] is True and whole.to_json()["x_rows"] is False


def test_semaphore_fields_have_their_documented_ranges():
    assert _instr(w_dep=True, w_core=7, w_count=4095).encode()          # 3-bit core, 12-bit count
    with pytest.raises(ValueError, match="w_core"):
        _instr(w_dep=True, w_core=8).encode()
    with pytest.raises(ValueError, match="w_count"):
        _instr(w_dep=True, w_count=4096).encode()


def test_json_reports_the_attention_flags_as_booleans():
    data = _instr(m_outer=True, softmax=True, w_dep=True, w_core=2, w_count=1).to_json()
    assert (data["m_outer"], data["softmax"], data["w_dep"]) == (True, True, True)
    assert (data["w_core"], data["w_count"]) == (2, 1)
    assert _instr().to_json()["softmax"] is False


def _core(program, *, lanes=32, peers=1, **kwargs):
    from hw.core.gemm_core import GemmCore

    # inspected, never elaborated: silenced before __init__ runs, so that cores whose checks raise
    # do not warn about being unused when they are collected
    core = GemmCore.__new__(GemmCore)
    core._MustUse__silence = True
    core.__init__(name="c", lanes=lanes, words_per_line=4, program=program, spad_words=4096, ring_words=0,
                  psum_entries=0, wbuf_entries=128, peers=peers, **kwargs)
    return core


def test_softmax_needs_pixel_major_rows_of_one_length():
    with pytest.raises(HwError, match="m_outer") as info:
        _core([_instr(softmax=True)])
    assert info.value.source == "core c"
    with pytest.raises(HwError, match="one row length"):
        _core([_instr(softmax=True, m_outer=True), _instr(softmax=True, m_outer=True, n_tiles=2)])
    with pytest.raises(HwError, match="gated"):
        _core([_instr(softmax=True, m_outer=True), _instr(task="g", glu=True, dst=Dest.SPAD)])
    # the row length is N tiles x lanes: 2 x 16 here
    core = _core([_instr(softmax=True, m_outer=True, n_tiles=2)], lanes=16, softmax_frac_bits=3)
    assert core.softmax_row == 32 and core.softmax_frac_bits == 3


def test_a_semaphore_must_name_a_core_of_the_design():
    with pytest.raises(HwError, match="waits for core 5 of 5") as info:
        _core([_instr(w_dep=True, w_core=5, w_count=1)], peers=5)
    assert info.value.source == "core c"
    core = _core([_instr(w_dep=True, w_core=4, w_count=1)], peers=5)
    assert core.uses_wdep


def test_ports_and_datapaths_follow_the_attention_program():
    plain = _core([_instr()], peers=3)
    assert not plain.uses_wdep and not plain.uses_m_outer and plain.softmax_row is None
    members = set(plain.signature.members.keys())
    assert "retired" in members and "peer_retired" not in members     # every core publishes its count
    waiting = _core([_instr(w_dep=True, w_core=2, w_count=1, m_outer=True, softmax=True)], peers=3)
    assert waiting.uses_wdep and waiting.uses_m_outer and waiting.softmax_row == 32
    assert "peer_retired" in waiting.signature.members.keys()
    assert len(waiting.peer_retired) == 3            # one count per core of the design
    # convolutions are pixel-major too, but do not count as m_outer GEMMs
    conv = _core([_instr(task="c", conv=True, m_outer=False, in_h=4, in_w=4, in_c=4, out_w=4, m_bound=16,
                         k_bound=36, x_stride=0, n_tiles=2)], lanes=16)
    assert conv.uses_conv and not conv.uses_m_outer


def test_planned_attention_cores_build_only_the_semaphores_and_sfu_they_use():
    """The dataflow design's cores, built as the accelerator builds them: only s and o wait, only s has
    the softmax SFU, each waiting core is wired to all five cores' counts, and the two ends of the
    ``rows`` cut q -> s are the pixel-major GEMMs (s reads Q through a row-released ring)."""
    from hw.api import plan
    from hw.core.gemm_core import GemmCore

    design = plan("attention", "dataflow")
    cores = []
    for c in design.cores:
        core = GemmCore(name=c.name, lanes=c.lanes, words_per_line=design.budget.words_per_cycle,
                        program=c.program, spad_words=c.spad_words, ring_words=c.ring_words,
                        psum_entries=c.psum_entries, wbuf_entries=c.wbuf_entries,
                        softmax_frac_bits=c.softmax_frac_bits, peers=len(design.cores))
        core._MustUse__silence = True
        cores.append(core)
    assert [c.uses_wdep for c in cores] == [False, False, False, True, True]
    assert [c.softmax_row for c in cores] == [None, None, None, 32, None]
    o_rows = "=rows=> [o" in design.decisions["mapping"]      # o may read the probabilities as rows too
    assert [c.uses_m_outer for c in cores] == [False, False, True, True, o_rows]
    assert [any(i.x_rows for i in c.program) for c in design.cores] == [False, False, False, True, o_rows]
    assert [c.uses_stream_in for c in cores] == [False, False, False, True, True]
    assert all(len(c.peer_retired) == 5 for c in cores if c.uses_wdep)
    members = [set(c.signature.members.keys()) for c in cores]
    # kt and v write off-chip and stream nothing; q streams to s, s to o
    assert "wr" in members[0] and "s_out" not in members[0] and "wr" in members[1]
    assert "s_out" in members[2] and "s_in" in members[3] and "s_out" in members[3] and "s_in" in members[4]
