"""Where the MAC pipeline's result rows land, and the epilogue between them and the output writer.

The MAC pipeline never stalls, so a row's results must have somewhere to go ``LATENCY`` cycles after
its last step was issued: they land in a FIFO of ``LANDING_DEPTH`` rows, and the MAC array issues a
row's last step only while a landing slot is free (``reserve`` counts it, ``room`` says there is one).

The landing FIFO's head goes either straight to the writer as a result group or, for tasks with an
epilogue (``meta.epi``), through it:

- ``glu`` (SwiGLU-style gated tasks): lanes ``[0, L/2)`` hold the up projection, ``[L/2, L)`` the gate;
  the group is ``SiLU(up) * gate`` (``L/2`` results, ``half``);
- ``softmax``: whole rows of ``row_len`` scores (pixel-major tiles) through the row-softmax SFU.

A direct group is only sent while the epilogue is empty, so groups leave in MAC order. The blocks of
:mod:`hw.blocks` are joined by ready/valid streams, so their latencies do not matter here.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from hw.core.isa import ADDR_BITS
from hw.core.mac_pipeline import LATENCY
from hw.core.output_writer import group_layout
from hw.core.units import log2_exact
from hw.errors import HwError

#: Result rows the MAC pipeline may have issued or landed ahead of the writer and epilogue.
LANDING_DEPTH = LATENCY + 3
#: What travels with a result row: its output address, destination and whether it takes the epilogue.
META_LAYOUT = data.StructLayout({"y_row": ADDR_BITS, "dst": 2, "epi": 1})
EPILOGUES = ("none", "glu", "softmax")


class Epilogue(wiring.Component):
    """Landing FIFO, optional gated/softmax epilogue, result groups out (see the module docstring).

    Parameters
    ----------
    lanes : int
        ``L``, results per row (a power of two; even for ``glu``).
    kind : str
        ``"none"``, ``"glu"`` or ``"softmax"``.
    glu_frac_bits : int
        Fixed-point fraction bits of the SiLU and of the gate multiply (``glu``).
    softmax_row : int
        Scores per softmax row, a multiple of ``lanes`` (``softmax``).
    softmax_frac_bits : int
        Fraction bits of the scores entering the softmax (``softmax``).
    softmax_valid : int or None
        Real scores at the start of each softmax row, the rest padding the SFU masks (default: all).

    Attributes
    ----------
    reserve : In(1)
        The MAC array issues the last step of a result row (takes a landing slot).
    room : Out(1)
        A landing slot is free.
    q_valid, q, meta : In
        A result row from the MAC pipeline (``META_LAYOUT`` metadata).
    groups : Out(stream.Signature(group_layout))
        Result groups to the writer.
    idle : Out(1)
        No row reserved, landed or in the epilogue.
    """

    def __init__(self, *, lanes: int, kind: str = "none", glu_frac_bits: int = 4, softmax_row: int = 0,
                 softmax_frac_bits: int = 4, softmax_valid: int | None = None) -> None:
        log2_exact(lanes, "Epilogue: lanes")
        if kind not in EPILOGUES:
            raise HwError(f"must be one of {', '.join(EPILOGUES)}, not {kind!r}", source="Epilogue: kind")
        if kind == "glu" and lanes < 2:
            raise HwError("a gated epilogue needs at least 2 lanes", source="Epilogue: lanes")
        if kind == "softmax" and (not isinstance(softmax_row, int) or softmax_row < lanes or softmax_row % lanes):
            raise HwError(f"must be a positive multiple of lanes ({lanes}), not {softmax_row!r}",
                          source="Epilogue: softmax_row")
        self.lanes, self.kind = lanes, kind
        self.glu_frac_bits, self.softmax_row, self.softmax_frac_bits = glu_frac_bits, softmax_row, softmax_frac_bits
        self.softmax_valid = softmax_valid
        super().__init__({
            "reserve": In(1), "room": Out(1),
            "q_valid": In(1), "q": In(8 * lanes), "meta": In(META_LAYOUT),
            "groups": Out(stream.Signature(group_layout(lanes))), "idle": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        L = self.lanes
        landing_layout = data.StructLayout({"q": 8 * L, "meta": META_LAYOUT})
        m.submodules.landing = landing = fifo.SyncFIFO(width=landing_layout.size, depth=LANDING_DEPTH)
        m.d.comb += [landing.w_en.eq(self.q_valid), landing.w_data.eq(Cat(self.q, self.meta))]
        head = data.View(landing_layout, landing.r_data)
        reserved = Signal(range(LANDING_DEPTH + 1))    # result rows reserved or landed, not yet dispatched
        dispatch = Signal()
        m.d.sync += reserved.eq(reserved + self.reserve - dispatch)
        m.d.comb += self.room.eq(reserved < LANDING_DEPTH)

        epi_idle = Signal(init=1)
        epi_ready = Signal()
        epi_push = Signal()
        out = Signal(group_layout(L))     # a group from the epilogue
        out_valid = Signal()
        out_taken = Signal()
        m.d.comb += out_taken.eq(out_valid & self.groups.ready)
        if self.kind == "glu":
            self._glu(m, head, epi_push, epi_idle, epi_ready, out, out_valid, out_taken)
        elif self.kind == "softmax":
            self._softmax(m, head, epi_push, epi_idle, epi_ready, out, out_valid, out_taken)
        m.d.comb += self.idle.eq(epi_idle & (reserved == 0))

        # the head row goes to the epilogue, or straight to the writer while the epilogue is empty
        direct = Signal()
        with m.If(landing.r_rdy):
            with m.If(head.meta.epi):
                m.d.comb += [dispatch.eq(epi_ready), epi_push.eq(epi_ready)]
            with m.Else():
                m.d.comb += [direct.eq(epi_idle), dispatch.eq(epi_idle & self.groups.ready)]
        m.d.comb += landing.r_en.eq(dispatch)
        with m.If(out_valid):
            m.d.comb += [self.groups.valid.eq(1), self.groups.payload.eq(out)]
        with m.Elif(direct):
            m.d.comb += [self.groups.valid.eq(1),
                         self.groups.payload.eq(Cat(head.q, head.meta.y_row, head.meta.dst, Const(0, 1)))]
        return m

    def _glu(self, m: Module, head, epi_push, epi_idle, epi_ready, out, out_valid, out_taken) -> None:
        """``SiLU(up half) * gate half``: the halves split into the SiLU and a gate FIFO, then multiplied."""
        from hw.blocks.elementwise_mul import ElementwiseMul
        from hw.blocks.silu import SiLU

        half = self.lanes // 2
        m.submodules.silu = silu = SiLU(bits=8, width=half, frac_bits=self.glu_frac_bits)
        m.submodules.gmul = gmul = ElementwiseMul(bits=8, width=half, shift=self.glu_frac_bits)
        m.submodules.gates = gates = fifo.SyncFIFO(width=8 * half, depth=4)
        m.submodules.metas = metas = fifo.SyncFIFO(width=ADDR_BITS + 2, depth=4)
        m.d.comb += [
            epi_idle.eq(~metas.r_rdy),
            epi_ready.eq(silu.i.ready & gates.w_rdy & metas.w_rdy),
            silu.i.valid.eq(epi_push), silu.i.payload.eq(head.q[:8 * half]),
            gates.w_en.eq(epi_push), gates.w_data.eq(head.q[8 * half:]),
            metas.w_en.eq(epi_push), metas.w_data.eq(Cat(head.meta.y_row, head.meta.dst)),
            gmul.a.valid.eq(silu.o.valid), gmul.a.payload.eq(silu.o.payload), silu.o.ready.eq(gmul.a.ready),
            gmul.b.valid.eq(gates.r_rdy), gmul.b.payload.eq(gates.r_data), gates.r_en.eq(gmul.b.ready),
            out_valid.eq(gmul.o.valid & metas.r_rdy),
            out.eq(Cat(gmul.o.payload.as_value(), Const(0, 8 * half), metas.r_data, Const(1, 1))),
            gmul.o.ready.eq(out_taken), metas.r_en.eq(out_taken),
        ]

    def _softmax(self, m: Module, head, epi_push, epi_idle, epi_ready, out, out_valid, out_taken) -> None:
        """Whole rows through the row-softmax SFU; each beat's metadata waits in a FIFO beside it."""
        from hw.blocks.softmax import Softmax

        beats = self.softmax_row // self.lanes
        m.submodules.softmax = sm = Softmax(bits=8, width=self.lanes, row_len=self.softmax_row,
                                            in_frac_bits=self.softmax_frac_bits, valid=self.softmax_valid)
        m.submodules.metas = metas = fifo.SyncFIFO(width=ADDR_BITS + 2, depth=beats + 1)
        m.d.comb += [
            epi_idle.eq(~metas.r_rdy),
            epi_ready.eq(sm.i.ready & metas.w_rdy),
            sm.i.valid.eq(epi_push), sm.i.payload.eq(head.q),
            metas.w_en.eq(epi_push), metas.w_data.eq(Cat(head.meta.y_row, head.meta.dst)),
            out_valid.eq(sm.o.valid & metas.r_rdy),
            out.eq(Cat(sm.o.payload.as_value(), metas.r_data, Const(0, 1))),
            sm.o.ready.eq(out_taken), metas.r_en.eq(out_taken),
        ]
