"""cocotb test module that runs a generated accelerator on a list of prepared inputs.

It is driven by a manifest (JSON, path in ``$ACCEL_MANIFEST``) written by :mod:`hw.designs.simulate`:
``{"clock_ns": ..., "cores": [n_instructions...], "runs": [{"image": hex path, "out_line": ...,
"out_lines": ..., "stress": bool, "reset_after_ns": ns or null, "limit_ns": ...}]}``. For each run it
copies the image next to the simulator, pulses ``load_image`` under reset, starts the design and sleeps
until ``done`` rises (no per-cycle Python work), then reads counters, the per-instruction trace and the
output lines through the debug ports. Results go to ``$ACCEL_RESULTS`` as JSON; the comparison with the
golden model happens in the caller. A run with ``reset_after_ns`` is reset that long after its start
and then run again from the beginning without reloading the image; only the second run is recorded.
"""

from __future__ import annotations

import json
import os
import shutil

import cocotb
from cocotb.triggers import First, RisingEdge, Timer

COUNTERS = ("rd_weights", "rd_inputs", "rd_spill", "wr_spill", "wr_outputs")


async def _edges(dut, count: int, clock_ns: float) -> None:
    await Timer(count * clock_ns, unit="ns")
    await RisingEdge(dut.clk)


async def _run_once(dut, clock_ns: float, limit_ns: float, stop_after_ns: float | None) -> bool:
    dut.rst.value = 1
    dut.start.value = 0
    await _edges(dut, 2, clock_ns)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    dut.start.value = 1
    if stop_after_ns is not None:
        await Timer(stop_after_ns, unit="ns")
        return False
    finished = await First(RisingEdge(dut.done), Timer(limit_ns, unit="ns"))
    return int(dut.done.value) == 1


async def _read(dut, port, value, out, clock_ns: float) -> int:
    """A debug read through a combinational port (the off-chip memory model's)."""
    port.value = value
    await Timer(clock_ns / 4, unit="ns")
    return int(out.value)


async def _read_registered(dut, port, value, out, clock_ns: float) -> int:
    """A read through a synchronous port (the trace memories'): the data follows a clock edge."""
    port.value = value
    await RisingEdge(dut.clk)
    await Timer(clock_ns / 4, unit="ns")
    return int(out.value)


@cocotb.test()
async def run_manifest(dut):
    """Run every prepared input; record counters and outputs."""
    manifest = json.loads(open(os.environ["ACCEL_MANIFEST"]).read())
    clock_ns = manifest["clock_ns"]
    results = []
    dut.stress.value = 0
    dut.load_image.value = 0
    dut.dbg_addr.value = 0
    dut.trace_core.value = 0
    dut.trace_addr.value = 0
    for run in manifest["runs"]:
        shutil.copyfile(run["image"], "offchip_image.hex")
        dut.rst.value = 1
        dut.start.value = 0
        dut.stress.value = int(run["stress"])
        dut.load_image.value = 1
        await _edges(dut, 1, clock_ns)
        dut.load_image.value = 0
        if run.get("reset_after_ns") is not None:
            await _run_once(dut, clock_ns, run["limit_ns"], run["reset_after_ns"])
            partial = int(dut.cycles.value)
            assert int(dut.done.value) == 0, "design finished before the mid-run reset"
        else:
            partial = None
        ok = await _run_once(dut, clock_ns, run["limit_ns"], None)
        record = {"finished": ok, "cycles": int(dut.cycles.value), "cycles_before_reset": partial}
        dut.start.value = 0
        for name in COUNTERS:
            record[name] = int(getattr(dut, name).value)
        record["cores"] = []
        for core, n_instr in enumerate(manifest["cores"]):
            entry = {name: int(getattr(dut, f"c{core}_{name}").value) for name in ("busy", "stall", "reconf")}
            dut.trace_core.value = core
            entry["trace"] = [await _read_registered(dut, dut.trace_addr, i, dut.trace_data, clock_ns)
                              for i in range(n_instr)]
            record["cores"].append(entry)
        record["out"] = [await _read(dut, dut.dbg_addr, run["out_line"] + i, dut.dbg_data, clock_ns)
                         for i in range(run["out_lines"])]
        results.append(record)
        assert ok, f"design did not finish within {run['limit_ns']} ns"
    with open(os.environ["ACCEL_RESULTS"], "w") as handle:
        json.dump(results, handle)
