"""The MAC array as a pipeline that closes timing: registered operands, multiplies, accumulate, requantise.

One MAC step per cycle enters with ``issue``: an int8 ``x`` broadcast to ``L`` lanes and, one cycle
later (a block-RAM read issued in the same cycle as the step), the word ``w`` of ``L`` int8 weights.
Each stage has its own registers, so no path runs from a memory through a multiplier and an adder:

==========  ===========================================================================================
cycle       what the step issued in cycle ``t`` does
==========  ===========================================================================================
``t``       enters: ``x`` and control registered; the caller's block-RAM weight read is issued
``t + 1``   its weight word arrives on ``w``; weights and ``x`` registered; the partial-sum read is issued
``t + 2``   multiply, registered (one ``MULT18X18D`` per lane); the partial sum arrives, registered
``t + 3``   accumulate, registered: ``acc = (first ? (init ? psum : 0) : acc) + product``
``t + 4``   ``last`` steps: the sums are written to partial sums (``to_psum``) or shifted, registered
``t + 5``   saturated (optional ReLU) int8 results on ``q`` with ``q_valid`` and their ``meta``
==========  ===========================================================================================

The pipeline never stalls: whoever issues steps must have room for the results ``LATENCY`` cycles on.
``empty`` says that no step is in flight (instruction boundaries wait for it before reading partial
sums another instruction may still be writing).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hw.errors import HwError

ACC_BITS = 32
#: Cycles from a step's ``issue`` to its result on ``q`` (or to its partial-sum write).
LATENCY = 5
#: Depth of the partial-sum address.
PSUM_ADDR_BITS = 16


def _control_layout(meta_bits: int) -> data.StructLayout:
    return data.StructLayout({"first": 1, "last": 1, "init": 1, "to_psum": 1, "shift": 5, "relu": 1,
                              "psum_addr": PSUM_ADDR_BITS, "meta": meta_bits})


class MacPipeline(wiring.Component):
    """``L``-lane int8 MAC pipeline with 32-bit accumulators (see the module docstring).

    Parameters
    ----------
    lanes : int
        ``L``, MAC lanes (at least 1).
    meta_bits : int
        Width of the opaque ``meta`` word carried from a step to its result (destination, address...).

    Attributes
    ----------
    issue, x, first, last, init, to_psum, shift, relu, psum_addr, meta : In
        One MAC step and what to do with the row it completes (``last``).
    w : In(8 * lanes)
        The step's weight word, one cycle after ``issue``.
    psum_rd_addr : Out(16), psum_rd_data : In(32 * lanes)
        Synchronous partial-sum read (data one cycle after the address).
    psum_wr_en, psum_wr_addr, psum_wr_data : Out
        Partial-sum write of a finished ``to_psum`` row.
    q_valid, q, q_meta : Out
        Requantised results of a finished row (not for ``to_psum`` rows).
    empty : Out(1)
        No step in flight.
    """

    def __init__(self, *, lanes: int, meta_bits: int) -> None:
        if not isinstance(lanes, int) or lanes < 1:
            raise HwError(f"must be a positive integer, not {lanes!r}", source="MacPipeline: lanes")
        if not isinstance(meta_bits, int) or meta_bits < 1:
            raise HwError(f"must be a positive integer, not {meta_bits!r}", source="MacPipeline: meta_bits")
        self.lanes = lanes
        self.meta_bits = meta_bits
        super().__init__({
            "issue": In(1), "x": In(signed(8)), "first": In(1), "last": In(1), "init": In(1), "to_psum": In(1),
            "shift": In(5), "relu": In(1), "psum_addr": In(PSUM_ADDR_BITS), "meta": In(meta_bits),
            "w": In(8 * lanes),
            "psum_rd_addr": Out(PSUM_ADDR_BITS), "psum_rd_data": In(ACC_BITS * lanes),
            "psum_wr_en": Out(1), "psum_wr_addr": Out(PSUM_ADDR_BITS), "psum_wr_data": Out(ACC_BITS * lanes),
            "q_valid": Out(1), "q": Out(8 * lanes), "q_meta": Out(meta_bits), "empty": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        L = self.lanes
        layout = _control_layout(self.meta_bits)
        # stage s holds the step issued s cycles ago (s = 1 .. LATENCY)
        valid = [Signal(name=f"valid{s}") for s in range(1, LATENCY + 1)]
        ctrl = [Signal(layout, name=f"ctrl{s}") for s in range(1, LATENCY + 1)]
        m.d.sync += [valid[0].eq(self.issue), ctrl[0].eq(Cat(self.first, self.last, self.init, self.to_psum,
                                                                 self.shift, self.relu, self.psum_addr, self.meta))]
        for s in range(1, LATENCY):
            m.d.sync += [valid[s].eq(valid[s - 1]), ctrl[s].eq(ctrl[s - 1])]
        m.d.comb += self.empty.eq(~Cat(*valid).any())

        x1 = Signal(signed(8))
        x2 = Signal(signed(8))
        w2 = Signal(8 * L)
        m.d.sync += [x1.eq(self.x), x2.eq(x1), w2.eq(self.w)]
        m.d.comb += self.psum_rd_addr.eq(ctrl[0].psum_addr)
        psum3 = Signal(ACC_BITS * L)
        m.d.sync += psum3.eq(self.psum_rd_data)

        acc = [Signal(signed(ACC_BITS), name=f"acc{lane}") for lane in range(L)]
        shifted = [Signal(signed(ACC_BITS), name=f"shifted{lane}") for lane in range(L)]
        q = [Signal(signed(8), name=f"q{lane}") for lane in range(L)]
        c3, c4, c5 = ctrl[2], ctrl[3], ctrl[4]
        for lane in range(L):
            product = Signal(signed(16), name=f"product{lane}")
            m.d.sync += product.eq(x2 * w2.word_select(lane, 8).as_signed())
            init = psum3.word_select(lane, ACC_BITS).as_signed()
            base = Mux(c3.first, Mux(c3.init, init, 0), acc[lane])
            with m.If(valid[2]):
                m.d.sync += acc[lane].eq(base + product)
            m.d.sync += shifted[lane].eq(acc[lane] >> c4.shift)
            low = Mux(c5.relu, 0, -128)
            with m.If(shifted[lane] > 127):
                m.d.comb += q[lane].eq(127)
            with m.Elif(shifted[lane] < low):
                m.d.comb += q[lane].eq(low)
            with m.Else():
                m.d.comb += q[lane].eq(shifted[lane])
        m.d.comb += [
            self.psum_wr_en.eq(valid[3] & c4.last & c4.to_psum),
            self.psum_wr_addr.eq(c4.psum_addr), self.psum_wr_data.eq(Cat(*acc)),
            self.q_valid.eq(valid[4] & c5.last & ~c5.to_psum),
            self.q.eq(Cat(*q)), self.q_meta.eq(c5.meta),
        ]
        return m
