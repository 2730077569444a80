"""cocotb tests of OffchipMemory under Verilator (run through hw.sim.runner.run_cocotb).

The memory's parameters arrive as JSON in ``OFFCHIP_CONFIG``. The clock is generated in the HDL
wrapper, so these tests never start a cocotb ``Clock``.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from hw.sim.cocotb_streams import collect, drive, pack, reset, start, unpack

CONFIG = json.loads(os.environ.get("OFFCHIP_CONFIG", "{}"))


def _lines() -> list[int]:
    """Packed memory lines as the RTL stores them (word 0 in the low bits, two's complement)."""
    wpc = CONFIG["words_per_cycle"]
    words = CONFIG["init"] + [0] * (CONFIG["depth"] * wpc - len(CONFIG["init"]))
    return [pack(words[line * wpc:(line + 1) * wpc], CONFIG["word_bits"]) for line in range(CONFIG["depth"])]


async def _idle_inputs(dut) -> None:
    dut.read_req__valid.value = 0
    dut.read_resp__ready.value = 0
    dut.write__valid.value = 0
    await reset(dut)


@cocotb.test()
async def read_bursts_under_random_backpressure(dut) -> None:
    """Random bursts, 40 % of cycles not ready: data in order, counters exact at the end."""
    await _idle_inputs(dut)
    depth, wpc = CONFIG["depth"], CONFIG["words_per_cycle"]
    addr_bits = max(1, (depth - 1).bit_length())
    requests = []
    for _ in range(10):
        addr = random.randrange(depth)
        requests.append((addr, random.randint(1, depth - addr)))
    lines = _lines()
    expected = [lines[a + k] for a, n in requests for k in range(n)]

    requester = start(drive(dut, "read_req", [a | (n << addr_bits) for a, n in requests], stall=0.3,
                            rng=random.Random(random.getrandbits(32))))
    received = await collect(dut, "read_resp", len(expected), stall=0.4,
                             rng=random.Random(random.getrandbits(32)))
    await requester
    first_bad = next((i for i, (r, e) in enumerate(zip(received, expected)) if r != e), None)
    assert received == expected, f"first mismatch at line {first_bad}"

    await RisingEdge(dut.clk)
    await ReadOnly()
    assert int(dut.busy.value) == 0
    assert int(dut.words_read.value) == len(expected) * wpc
    counter_bits = CONFIG.get("counter_bits", 32)
    counted = unpack(int(dut.region_words_read.value), counter_bits, len(CONFIG["regions"]), signed=False)
    for number, (start_line, stop_line) in enumerate(CONFIG["regions"]):
        want = sum(1 for a, n in requests for k in range(a, a + n) if start_line <= k < stop_line) * wpc
        assert counted[number] == want, f"region {number}: {counted[number]} words counted, {want} expected"


@cocotb.test(skip="OFFCHIP_PROBE_FAILURE" not in os.environ)
async def deliberate_failure_probe(dut) -> None:
    """Fails on purpose (only when OFFCHIP_PROBE_FAILURE is set): proves failures reach pytest."""
    await _idle_inputs(dut)
    await RisingEdge(dut.clk)
    assert int(dut.words_read.value) == 1, "words_read is 0 after reset, as it should be"
