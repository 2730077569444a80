"""Off-chip memory model: read bursts under back-pressure, latency, writes, traffic counters."""

from __future__ import annotations

import numpy as np
import pytest

from hw.blocks import OffchipMemory
from hw.blocks.offchip_memory import pack_lines
from hw.golden.offchip import read_port_cycles, region_words
from hw.sim.amaranth_streams import receive, run_testbenches, send, stream_through

WORD_BITS = 12


def _memory(seed: int, *, depth: int, words_per_cycle: int, **kwargs) -> tuple[OffchipMemory, np.ndarray]:
    words = np.random.default_rng(seed).integers(-(1 << 11), 1 << 11, size=depth * words_per_cycle)
    dut = OffchipMemory(word_bits=WORD_BITS, words_per_cycle=words_per_cycle, depth=depth,
                        init=words.tolist(), **kwargs)
    return dut, words


def _unsigned(words: np.ndarray) -> np.ndarray:
    return words & ((1 << WORD_BITS) - 1)


@pytest.mark.parametrize("words_per_cycle,read_latency", [(1, 1), (4, 5)])
def test_read_bursts_return_memory_contents_and_count_words(words_per_cycle: int, read_latency: int) -> None:
    depth = 32
    regions = [(0, 8), (8, 20), (24, 32)]
    dut, words = _memory(1, depth=depth, words_per_cycle=words_per_cycle, read_latency=read_latency,
                         regions=regions)
    rng = np.random.default_rng(2)
    requests = [(int(a), int(rng.integers(0, depth - a + 1))) for a in rng.integers(0, depth, size=12)]
    lines = _unsigned(words).reshape(depth, words_per_cycle)
    expected = [lines[a + k].tolist() for a, n in requests for k in range(n)]
    counters: dict[str, object] = {}

    async def requester(ctx) -> None:
        await send(ctx, dut.read_req, [{"addr": a, "count": n} for a, n in requests],
                   rng=np.random.default_rng(3), stall=0.3)

    async def consumer(ctx) -> None:
        counters["data"] = await receive(ctx, dut.read_resp, len(expected),
                                         rng=np.random.default_rng(4), stall=0.4)
        await ctx.tick().until(~dut.busy)
        counters["read"] = ctx.get(dut.words_read)
        counters["written"] = ctx.get(dut.words_written)
        counters["regions"] = list(ctx.get(dut.region_words_read))

    run_testbenches(dut, requester, consumer)
    assert counters["data"] == expected
    assert counters["read"] == len(expected) * words_per_cycle
    assert counters["written"] == 0
    assert counters["regions"] == region_words(requests, regions, words_per_cycle=words_per_cycle)
    assert sum(counters["regions"]) < counters["read"]          # lines 20..23 are in no region


@pytest.mark.parametrize("read_latency", [1, 3, 7])
def test_first_beat_arrives_read_latency_cycles_after_request(read_latency: int) -> None:
    dut, words = _memory(5, depth=16, words_per_cycle=2, read_latency=read_latency)
    cycles: dict[str, list[int]] = {}
    stream_through(dut, {"read_req": [{"addr": 3, "count": 4}, {"addr": 0, "count": 2}]},
                   {"read_resp": 6}, cycles=cycles)
    # Request 0 is accepted at clock edge 0 and its first beat is taken at edge `read_latency`; request 1
    # is accepted one edge after request 0's last beat.
    first = read_latency
    assert cycles["read_resp"] == [first, first + 1, first + 2, first + 3,
                                   first + 3 + read_latency + 1, first + 3 + read_latency + 2]
    # The port was busy read_port_cycles() cycles: from edge 0 to the last beat's edge, inclusive.
    assert cycles["read_resp"][-1] == read_port_cycles([4, 2], read_latency=read_latency) - 1


@pytest.mark.parametrize("write_latency", [0, 4])
def test_writes_commit_and_are_counted_per_region(write_latency: int) -> None:
    depth, wpc = 16, 2
    dut, words = _memory(6, depth=depth, words_per_cycle=wpc, write_latency=write_latency,
                         read_latency=2, regions=[(0, 4), (4, 16)])
    rng = np.random.default_rng(7)
    writes = [(int(a), rng.integers(0, 1 << WORD_BITS, size=wpc).tolist()) for a in (1, 5, 6, 15, 5)]
    image = _unsigned(words).reshape(depth, wpc).copy()
    for addr, data in writes:
        image[addr] = data
    result: dict[str, object] = {}

    async def testbench(ctx) -> None:
        await send(ctx, dut.write, [{"addr": a, "data": d} for a, d in writes],
                   rng=np.random.default_rng(8), stall=0.3)
        await ctx.tick().until(~dut.busy)
        await send(ctx, dut.read_req, [{"addr": 0, "count": depth}])
        result["data"] = await receive(ctx, dut.read_resp, depth)
        result["written"] = ctx.get(dut.words_written)
        result["regions"] = list(ctx.get(dut.region_words_written))

    run_testbenches(dut, testbench)
    assert result["data"] == image.tolist()
    assert result["written"] == len(writes) * wpc
    assert result["regions"] == [1 * wpc, 4 * wpc]


def test_pack_lines_places_word_zero_in_low_bits() -> None:
    assert pack_lines([1, 2, -1], word_bits=4, words_per_cycle=2) == [0x21, 0xF]
