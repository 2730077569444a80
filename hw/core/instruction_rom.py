"""The instruction ROM: a core's program, read synchronously by each of its units.

Every unit of a core (weight fetcher, X reader, X loader, MAC sequencer) steps through the same program
at its own pace, so the ROM has one read port per unit. The ports are **synchronous**: ``data`` is the
instruction at the ``addr`` of the previous cycle. A combinational read would make the ROM a LUT tree in
the middle of each unit's control path; a registered one maps to block RAM or to LUT ROM with its output
register, and the path that reads an instruction starts at a flip-flop.

A unit therefore drives ``addr`` with the index it wants to see *next* cycle (its prefetch): the index
it is about to move to, or the one it holds. :func:`next_index` builds that address.
"""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from hw.core.isa import INSTR_LAYOUT, Instruction
from hw.errors import HwError


def index_shape(n_instr: int) -> range:
    """Shape of an instruction index: ``0 .. n_instr`` (``n_instr`` = the program is finished)."""
    return range(n_instr + 1)


def instruction_port_signature(n_instr: int) -> wiring.Signature:
    """A unit's side of one ROM port: it drives ``addr``, and ``data`` is ``ROM[addr]`` one cycle on."""
    return wiring.Signature({"addr": Out(index_shape(n_instr)), "data": In(INSTR_LAYOUT)})


def next_index(index: Signal, advance) -> Mux:
    """The prefetch address: ``index + 1`` in a cycle in which ``index`` steps, else ``index``."""
    return Mux(advance, index + 1, index)


class InstructionRom(wiring.Component):
    """A program of :class:`Instruction` words with ``readers`` synchronous read ports.

    Parameters
    ----------
    program : sequence of Instruction
        The ROM contents (at least one instruction).
    readers : int
        Read ports, one per unit that steps through the program.

    Attributes
    ----------
    ports : array of In(instruction_port_signature)
        ``ports[i].addr`` (the index to read) and ``ports[i].data`` (the instruction at the address of
        the previous cycle; the address ``len(program)`` reads a word no unit uses). Latency 1 cycle: a
        unit may use ``data`` from the second cycle after reset on (a core starts its units a cycle late).
    """

    def __init__(self, *, program: Sequence[Instruction], readers: int) -> None:
        self.program = list(program)
        if not self.program or not all(isinstance(i, Instruction) for i in self.program):
            raise HwError("needs at least one Instruction", source="InstructionRom: program")
        if not isinstance(readers, int) or readers < 1:
            raise HwError(f"must be a positive integer, not {readers!r}", source="InstructionRom: readers")
        self.readers = readers
        super().__init__({"ports": In(instruction_port_signature(len(self.program))).array(readers)})

    def elaborate(self, platform):
        m = Module()
        n = len(self.program)
        depth = 1 << (n - 1).bit_length()      # padded, so that any address (``n`` too) reads a defined word
        words = [i.encode() for i in self.program] + [0] * (depth - n)
        m.submodules.rom = rom = memory.Memory(shape=unsigned(INSTR_LAYOUT.size), depth=depth, init=words)
        for port in self.ports:
            read = rom.read_port()
            m.d.comb += [read.addr.eq(port.addr), port.data.eq(read.data)]
        return m
