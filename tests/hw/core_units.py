"""Shared helpers of the Amaranth-simulation tests of the compute core's units (``tests/hw/test_core_*.py``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from hw.core.instruction_rom import InstructionRom
from hw.core.isa import Dest, Instruction, XSource
from hw.core.memory_system import MemorySystem


def instr(**fields) -> Instruction:
    """An instruction with harmless defaults for whatever the test does not set."""
    values = dict(task="t", m_bound=1, n_tiles=1, k_bound=1, x_src=XSource.SPAD, x_base=0, x_stride=0, w_base=0,
                  dst=Dest.SPAD)
    values.update(fields)
    return Instruction(**values)


def simulate(top, testbench: Callable, *, background: Sequence[Callable] = ()) -> None:
    """Run ``testbench`` (and background processes) on ``top`` with a clock."""
    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    for process in background:
        sim.add_testbench(process, background=True)
    sim.run()


def pack(values: Sequence[int], bits: int = 8) -> int:
    """Little-endian packing of signed or unsigned ``bits``-bit values into one word."""
    mask = (1 << bits) - 1
    return sum((int(v) & mask) << (bits * i) for i, v in enumerate(values))


def unpack(word: int, count: int, bits: int = 8) -> np.ndarray:
    """The inverse of :func:`pack` for signed values."""
    mask = (1 << bits) - 1
    values = [(word >> (bits * i)) & mask for i in range(count)]
    return np.array([v - (1 << bits) if v >> (bits - 1) else v for v in values], dtype=np.int64)


class WithRom(wiring.Component):
    """A unit wired to an instruction ROM holding ``program`` and, with ``lines``, to the real off-chip
    memory model (its read client ``read`` on the memory's read port 0)."""

    def __init__(self, unit: wiring.Component, program: Sequence[Instruction], *, lines: Sequence[int] = (),
                 read: str = "", words_per_line: int = 4, latency: int = 3) -> None:
        self.unit, self.program, self.lines, self.read = unit, list(program), list(lines), read
        self.words_per_line, self.latency = words_per_line, latency
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        m.submodules.rom = rom = InstructionRom(program=self.program, readers=1)
        m.submodules.unit = self.unit
        wiring.connect(m, self.unit.instr, rom.ports[0])
        if self.lines:
            m.submodules.mem = mem = MemorySystem(words_per_line=self.words_per_line, depth=len(self.lines),
                                                  init=self.lines, n_read=1, n_write=1, latency=self.latency,
                                                  regions={})
            wiring.connect(m, getattr(self.unit, self.read), mem.rd[0])
        return m
