"""The landing FIFO and epilogue on their own, in Amaranth simulation, against the numpy golden models.

Result rows arrive as the MAC pipeline delivers them (each after its slot was reserved), some plain and
some through the epilogue; the writer side accepts at random. Plain rows must come out unchanged, gated
rows as ``mul_requant(silu(up), gate)``, softmax rows as ``softmax_rows``, all in arrival order, and the
slots must run out (``room`` low) once ``LANDING_DEPTH`` rows are reserved and not dispatched.
"""

from __future__ import annotations

import numpy as np
import pytest

from core_units import pack, simulate, unpack
from hw.core.epilogue import LANDING_DEPTH, Epilogue
from hw.core.isa import Dest
from hw.errors import HwError
from hw.golden.activations import silu
from hw.golden.elementwise import mul_requant
from hw.golden.softmax import softmax_rows

LANES = 8


def run_rows(epilogue: Epilogue, rows: list[tuple[np.ndarray, bool]], seed: int) -> list[dict]:
    """Deliver ``(values, through the epilogue?)`` rows; the groups that come out, in order."""
    rng = np.random.default_rng(seed)
    out: list[dict] = []

    async def deliver(ctx):
        for index, (values, epi) in enumerate(rows):
            await ctx.tick().until(epilogue.room)
            ctx.set(epilogue.reserve, 1)
            await ctx.tick()
            ctx.set(epilogue.reserve, 0)
            ctx.set(epilogue.q_valid, 1)
            ctx.set(epilogue.q, pack(values))
            ctx.set(epilogue.meta, {"y_row": 10 * index, "dst": Dest.STREAM, "epi": epi})
            await ctx.tick()
            ctx.set(epilogue.q_valid, 0)
        for _ in range(100):
            await ctx.tick()
        assert ctx.get(epilogue.idle)

    async def sink(ctx):
        while True:
            ready = rng.random() < 0.5
            ctx.set(epilogue.groups.ready, ready)
            if ready and ctx.get(epilogue.groups.valid):
                group = ctx.get(epilogue.groups.payload)
                out.append({"data": unpack(int(group.data), LANES), "addr": group.addr, "half": group.half})
            await ctx.tick()

    simulate(epilogue, deliver, background=[sink])
    return out


def test_plain_and_gated_rows_leave_in_order() -> None:
    rng = np.random.default_rng(19)
    rows = [(rng.integers(-128, 128, size=LANES), bool(epi)) for epi in (0, 1, 1, 0, 1, 0)]
    out = run_rows(Epilogue(lanes=LANES, kind="glu", glu_frac_bits=4), rows, seed=1)
    assert [g["addr"] for g in out] == [10 * i for i in range(len(rows))]
    for group, (values, epi) in zip(out, rows):
        if epi:
            up, gate = values[:LANES // 2], values[LANES // 2:]
            expected = mul_requant(silu(up, bits=8, frac_bits=4), gate, bits=8, shift=4)
            assert group["half"] and np.array_equal(group["data"][:LANES // 2], expected)
        else:
            assert not group["half"] and np.array_equal(group["data"], values)


def test_softmax_rows_span_two_beats() -> None:
    rng = np.random.default_rng(23)
    scores = rng.integers(-128, 128, size=(2, 2 * LANES))
    rows = [(beat, True) for row in scores for beat in (row[:LANES], row[LANES:])]
    out = run_rows(Epilogue(lanes=LANES, kind="softmax", softmax_row=2 * LANES, softmax_frac_bits=4), rows, seed=2)
    expected = softmax_rows(scores, bits=8, in_frac_bits=4)
    assert np.array_equal(np.concatenate([g["data"] for g in out]).reshape(2, -1), expected)


def test_slots_run_out_when_nothing_is_dispatched() -> None:
    epilogue = Epilogue(lanes=LANES)

    async def bench(ctx):
        ctx.set(epilogue.reserve, 1)
        for _ in range(LANDING_DEPTH):
            assert ctx.get(epilogue.room)
            await ctx.tick()
        assert not ctx.get(epilogue.room) and not ctx.get(epilogue.idle)

    simulate(epilogue, bench)


def test_bad_epilogues_are_refused() -> None:
    with pytest.raises(HwError, match="Epilogue: kind"):
        Epilogue(lanes=LANES, kind="gelu")
    with pytest.raises(HwError, match="Epilogue: softmax_row"):
        Epilogue(lanes=LANES, kind="softmax", softmax_row=12)
