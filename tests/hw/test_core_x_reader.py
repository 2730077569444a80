"""The X reader on its own, in Amaranth simulation: operand order against numpy, ring waits and releases.

A harness gives it an instruction ROM and a scratchpad (or ring) holding known values; the MAC side
pops the X stream with random gaps. Convolutions (stride 1 and 2, 2x upsampling) must yield numpy's
im2col operands (taps ``(ky, kx)``, channels innermost, zero padding), GEMMs their column-tiled
elements, and a ring source must never read an element before it has arrived.
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import memory, wiring

from core_units import instr, simulate
from hw.core.instruction_rom import InstructionRom
from hw.core.isa import Dest, XSource
from hw.core.x_reader import XReader
from hw.errors import HwError


class Harness(wiring.Component):
    def __init__(self, program, values: np.ndarray, *, ring: bool = False) -> None:
        self.program, self.values, self.is_ring = program, values, ring
        self.reader = XReader(n_instr=len(program), spad=not ring, ring=ring,
                              conv=any(i.conv for i in program), m_outer=any(i.m_outer for i in program))
        # a ring starts with every element's complement and gets the element when it "arrives"
        super().__init__({"fill_en": wiring.In(1), "fill_addr": wiring.In(8), "fill_data": wiring.In(8)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.rom = rom = InstructionRom(program=self.program, readers=1)
        m.submodules.reader = reader = self.reader
        wiring.connect(m, reader.instr, rom.ports[0])
        init = [(~int(v) if self.is_ring else int(v)) & 0xFF for v in self.values]
        m.submodules.mem = mem = memory.Memory(shape=8, depth=len(self.values), init=init)
        read = mem.read_port()
        write = mem.write_port()
        m.d.comb += [write.en.eq(self.fill_en), write.addr.eq(self.fill_addr), write.data.eq(self.fill_data)]
        m.d.comb += [read.addr.eq(reader.read_addr), (reader.ring_data if self.is_ring else reader.spad_data).eq(read.data)]
        return m


def run_reader(program, values, *, ring: bool = False, arrivals_every: int = 0, seed: int = 0):
    """The popped operands and ``ring_consumed`` per cycle; with ``arrivals_every`` the ring receives one
    element per that many cycles (read before it arrives, an element would be its complement)."""
    harness = Harness(program, values, ring=ring)
    reader = harness.reader
    rng = np.random.default_rng(seed)
    got: list[int] = []
    consumed: list[int] = []
    total = sum(i.m_bound * i.n_tiles * i.k_bound for i in program if i.x_src != XSource.OFFCHIP)

    async def bench(ctx):
        await ctx.tick()                  # the ROM's first word is read in the first cycle
        ctx.set(reader.running, 1)
        ctx.set(reader.mac_index, len(program))
        ctx.set(reader.results_written, 1)
        received = 0 if arrivals_every else len(values)
        cycle = 0
        while len(got) < total:
            assert cycle < 40 * total + 100, "the reader stalled"
            if ring:
                arrives = arrivals_every and cycle % arrivals_every == 0 and received < len(values)
                ctx.set(harness.fill_en, arrives)
                if arrives:
                    ctx.set(harness.fill_addr, received)
                    ctx.set(harness.fill_data, int(values[received]) & 0xFF)
                    received += 1
                ctx.set(reader.received, received - arrives)    # counted once written, as the core does
            ready = rng.random() < 0.7
            ctx.set(reader.x.ready, ready)
            if ready and ctx.get(reader.x.valid):
                got.append(ctx.get(reader.x.payload))
            consumed.append(ctx.get(reader.ring_consumed))
            await ctx.tick()
            cycle += 1
        for _ in range(8):
            await ctx.tick()
            consumed.append(ctx.get(reader.ring_consumed))

    simulate(harness, bench)
    return np.array(got), consumed


def im2col(image: np.ndarray, s_log: int, up: int, n_tiles: int) -> tuple[np.ndarray, int, int]:
    """Operands in MAC order for a 3x3 'same' convolution of ``image`` (H x W x C) upsampled by 2**up."""
    big = image.repeat(1 << up, axis=0).repeat(1 << up, axis=1)
    padded = np.pad(big, ((1, 1), (1, 1), (0, 0)))
    stride = 1 << s_log
    out_h, out_w = -(-big.shape[0] // stride), -(-big.shape[1] // stride)
    rows = []
    for oy in range(out_h):
        for ox in range(out_w):
            patch = padded[oy * stride:oy * stride + 3, ox * stride:ox * stride + 3, :].reshape(-1)
            rows.extend([patch] * n_tiles)
    return np.concatenate(rows), out_h, out_w


@pytest.mark.parametrize("s_log, up", [(0, 0), (1, 0), (0, 1)], ids=["stride1", "stride2", "upsample2"])
def test_convolution_operands_are_numpys_im2col(s_log: int, up: int) -> None:
    rng = np.random.default_rng(3)
    in_h, in_w, in_c, base = 4, 5, 2, 7
    image = rng.integers(-128, 128, size=(in_h, in_w, in_c))
    values = np.concatenate([rng.integers(-128, 128, size=base), image.reshape(-1)])
    expected, out_h, out_w = im2col(image, s_log, up, n_tiles=2)
    conv = instr(conv=True, x_base=base, in_h=in_h, in_w=in_w, in_c=in_c, out_w=out_w, s_log=s_log, up=up,
                 m_bound=out_h * out_w, n_tiles=2, k_bound=9 * in_c)
    skipped = instr(x_src=XSource.OFFCHIP, m_bound=3, k_bound=4)       # served by the X loader, not read here
    got, _ = run_reader([skipped, conv], values)
    assert np.array_equal(got, expected)


def test_gemm_operands_follow_column_tiles_and_pixel_major_order() -> None:
    rng = np.random.default_rng(5)
    values = rng.integers(-128, 128, size=256)
    # X (m, k) at x_base + m*x_stride + (k >> x_tlog)*x_tstride + (k mod 2**x_tlog)
    tiled = instr(m_bound=3, n_tiles=2, k_bound=8, x_base=3, x_stride=4, x_tlog=2, x_tstride=40)
    rowwise = instr(m_bound=2, n_tiles=3, k_bound=5, x_base=100, x_stride=5, m_outer=True, dst=Dest.STREAM)
    expected = [values[3 + mm * 4 + (k >> 2) * 40 + (k & 3)] for nt in range(2) for mm in range(3) for k in range(8)]
    expected += [values[100 + mm * 5 + k] for mm in range(2) for nt in range(3) for k in range(5)]
    got, _ = run_reader([tiled, rowwise], values, seed=1)
    assert np.array_equal(got, np.array(expected))


def test_ring_operands_wait_for_arrival_and_are_released_row_by_row() -> None:
    """A pixel-major GEMM over a ring filled one element every 3 cycles: every element is read only after
    it arrived, and rows are released as they finish, then everything up to ``x_end``."""
    rng = np.random.default_rng(9)
    values = rng.integers(-128, 128, size=64)
    program = [instr(x_src=XSource.RING, m_bound=4, n_tiles=2, k_bound=8, x_base=0, x_stride=8, m_outer=True,
                     x_rows=True, x_end=40)]
    got, consumed = run_reader(program, values, ring=True, arrivals_every=3, seed=2)
    expected = [values[mm * 8 + k] for mm in range(4) for nt in range(2) for k in range(8)]
    assert np.array_equal(got, np.array(expected))
    releases = sorted(set(consumed))
    assert releases == [0, 8, 16, 24, 40]      # whole rows, then everything up to x_end


def test_a_reader_needs_a_source() -> None:
    with pytest.raises(HwError, match="XReader"):
        XReader(n_instr=1, spad=False, ring=False)
    with pytest.raises(HwError, match="XReader: n_instr"):
        XReader(n_instr=0, spad=True, ring=False)
