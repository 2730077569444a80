"""The instruction ROM on its own, in Amaranth simulation: synchronous reads, one port per unit.

Each port must return the packed instruction at the address it was given one cycle earlier, whatever
the other ports read, and the address one past the program must read without error.
"""

from __future__ import annotations

import numpy as np
import pytest

from core_units import instr, simulate
from hw.core.instruction_rom import InstructionRom
from hw.errors import HwError


def test_ports_read_their_own_address_one_cycle_later() -> None:
    program = [instr(task=f"t{i}", m_bound=i + 1, k_bound=3 * i + 1, x_base=100 + i) for i in range(5)]
    rom = InstructionRom(program=program, readers=3)
    rng = np.random.default_rng(31)

    async def bench(ctx):
        for _ in range(40):
            addrs = [int(a) for a in rng.integers(0, len(program) + 1, size=3)]
            for port, addr in zip(rom.ports, addrs):
                ctx.set(port.addr, addr)
            await ctx.tick()
            for port in rom.ports:
                ctx.set(port.addr, 0)         # a new address changes nothing until the next edge
            for port, addr in zip(rom.ports, addrs):
                if addr < len(program):
                    word = ctx.get(port.data)
                    assert (word.m_bound, word.k_bound, word.x_base) == (addr + 1, 3 * addr + 1, 100 + addr)

    simulate(rom, bench)


def test_an_empty_program_is_refused() -> None:
    with pytest.raises(HwError, match="InstructionRom: program"):
        InstructionRom(program=[], readers=1)
    with pytest.raises(HwError, match="InstructionRom: readers"):
        InstructionRom(program=[instr()], readers=0)
