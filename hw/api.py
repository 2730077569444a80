"""What the CLI calls: generate a design's Verilog and schedule, or simulate and report designs.

``generate`` plans a kernel variant under a budget and writes ``<kernel>_<variant>.v`` (no absolute
source paths; the off-chip memory model is included as a testbench DRAM) and
``<kernel>_<variant>_schedule.json`` (mapping, per-edge decisions, per-core instruction ROMs, streams,
off-chip layout, padded tensors, the planner's estimate). Any positive sizes work: the planner pads
tensors to whole lane tiles and lines (:mod:`hw.kernels.padding`). ``report`` simulates kernel x variant designs under Verilator,
checks every output bit-exact against the numpy golden model, and returns per-design metrics.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from hw.errors import HwError
from hw.kernels import BUILDERS, DEFAULT_BUDGETS, KernelGraph, build_kernel
from hw.kernels.golden import random_operands, run_kernel
from hw.planner import VARIANTS, Budget, DesignPlan, plan_design

KERNELS = tuple(BUILDERS)


def make_budget(budget: Budget | Mapping[str, int] | None, kernel: str | None = None) -> Budget:
    """A :class:`Budget` from ``None`` (the kernel's defaults), a mapping of overrides of them, or a Budget.

    Kernels share :class:`Budget`'s defaults except where ``hw.kernels.DEFAULT_BUDGETS`` says otherwise
    (attention: five tasks need five dataflow cores of at least ``words_per_cycle`` lanes)."""
    base = replace(Budget(), **DEFAULT_BUDGETS.get(kernel or "", {}))
    if budget is None:
        return base
    if isinstance(budget, Budget):
        return budget
    unknown = set(budget) - set(asdict(Budget()))
    if unknown:
        raise HwError(f"unknown budget key(s) {sorted(unknown)}", source="budget")
    for key, value in budget.items():
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise HwError(f"must be a positive integer, not {value!r}", source=f"--{key.replace('_', '-')}")
    return replace(base, **dict(budget))


def plan(kernel: str, variant: str, *, sizes: Mapping[str, int] | None = None,
         budget: Budget | Mapping[str, int] | None = None) -> DesignPlan:
    """Plan ``variant`` of ``kernel`` (raises HwError for unknown names or infeasible parameters)."""
    graph = build_kernel(kernel, dict(sizes or {}))
    design = plan_design(graph, variant, make_budget(budget, kernel))
    design.decisions["sizes"] = dict(graph.sizes)
    return design


def schedule_json(design: DesignPlan) -> dict[str, Any]:
    """The schedule of a design as plain JSON data."""
    return {
        "kernel": design.kernel,
        "variant": design.variant,
        "budget": asdict(design.budget),
        "decisions": design.decisions,
        "estimate_cycles": design.estimate.get("cycles"),
        "cores": [{"name": c.name, "lanes": c.lanes, "spad_words": c.spad_words, "ring_words": c.ring_words,
                   "psum_entries": c.psum_entries, "wbuf_entries": c.wbuf_entries,
                   "program": [i.to_json() for i in c.program]} for c in design.cores],
        "streams": [asdict(s) for s in design.streams],
        "offchip_regions": [asdict(r) for r in design.regions],
        # tensors the host zero-pads to whole lane tiles and lines (the output is sliced back)
        "padding": {name: {"shape": list(pad.shape), "padded_shape": list(pad.padded_shape)}
                    for name, pad in design.padding.items() if pad.shape != pad.padded_shape},
        "activation_buffer_bytes": design.buffer_bytes,      # peak scratchpad + ring + partial-sum bytes
        "peak_scratchpad_bytes": sum(c.spad_words for c in design.cores),
        "weight_buffer_bytes": design.wbuf_bytes,
    }


def generate(kernel: str, variant: str, *, sizes: Mapping[str, int] | None = None,
             budget: Budget | Mapping[str, int] | None = None, out_dir: str | Path) -> dict[str, Any]:
    """Write the Verilog and schedule JSON of one design into ``out_dir``; returns paths and summary."""
    from hw.designs.emit import design_verilog

    design = plan(kernel, variant, sizes=sizes, budget=budget)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    verilog_path = out / f"{kernel}_{variant}.v"
    schedule_path = out / f"{kernel}_{variant}_schedule.json"
    verilog_path.write_text(design_verilog(design))
    schedule = schedule_json(design)
    schedule_path.write_text(json.dumps(schedule, indent=2, default=str))
    return {"verilog": str(verilog_path), "schedule": str(schedule_path), "kernel": kernel, "variant": variant,
            "mapping": design.decisions.get("mapping"), "estimate_cycles": design.estimate.get("cycles")}


def task_cycles(design: DesignPlan, cores: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Cycles each task occupied its core, from the per-instruction end-cycle traces."""
    spans: dict[str, list[int]] = {}
    for core_plan, core in zip(design.cores, cores):
        previous_end = 0
        for instr, end in zip(core_plan.program, core["trace"]):
            span = spans.setdefault(instr.task, [previous_end, end])
            span[1] = end
            previous_end = end
    return {task: end - start for task, (start, end) in spans.items()}


def resource_cells(design: DesignPlan) -> dict[str, int]:
    """Yosys cell counts of the accelerator's cores (the off-chip memory model is the testbench's DRAM)."""
    from hw.core.gemm_core import GemmCore
    from hw.designs.accelerator import build_core
    from hw.designs.simulate import plan_key
    from hw.sim.resources import estimate_resources

    key = plan_key(design)
    total: dict[str, int] = {}
    for index in range(len(design.cores)):
        def core_factory(design_key: str, core: int, _index=index) -> GemmCore:
            # the parameters only name the cache entry; the core is built from the plan
            return build_core(design, _index)
        report = estimate_resources(core_factory, {"design_key": key, "core": index}, method="coarse")
        for name, value in (("cells", report.total_cells), ("flip_flop_bits", report.flip_flop_bits),
                            ("memory_bits", report.memory_bits), ("multipliers", report.multipliers)):
            total[name] = total.get(name, 0) + value
    return total


def evaluate(design: DesignPlan, *, seeds: Iterable[int] = (0,), extreme: bool = False,
             cells: bool = True) -> dict[str, Any]:
    """Simulate ``design`` on seeded random inputs; metrics of the first run plus bit-exactness of all."""
    from hw.designs.simulate import RunSpec, simulate

    graph = kernel_graph(design)
    runs, goldens = [], []
    for seed in seeds:
        x, w = random_operands(graph, np.random.default_rng(seed), extreme=extreme)
        runs.append(RunSpec(x, w))
        goldens.append(run_kernel(graph, x, w)[graph.output])
    results = simulate(design, runs, output_shape=goldens[0].shape)
    first = results[0]
    lanes = design.total_lanes
    record: dict[str, Any] = {
        "kernel": design.kernel,
        "variant": design.variant,
        "mapping": design.decisions.get("mapping"),
        "bit_exact": all(np.array_equal(r.output, g) for r, g in zip(results, goldens)),
        "runs": len(results),
        "cycles": first.cycles,
        "estimate_cycles": design.estimate.get("cycles"),
        "cycles_per_task": task_cycles(design, first.cores),
        "lanes": lanes,
        "cores": len(design.cores),
        "mac_utilisation": graph.macs / (lanes * first.cycles),
        "offchip_words": {
            "read_weights": first.counters["rd_weights"], "read_inputs": first.counters["rd_inputs"],
            "read_spills": first.counters["rd_spill"], "write_spills": first.counters["wr_spill"],
            "write_outputs": first.counters["wr_outputs"],
        },
        "activation_buffer_bytes": design.buffer_bytes,      # peak scratchpad + ring + partial-sum bytes
        "peak_scratchpad_bytes": sum(c.spad_words for c in design.cores),
        "weight_buffer_bytes": design.wbuf_bytes,
        "onchip_bytes": design.buffer_bytes + design.wbuf_bytes,
        "reconfiguration_cycles": sum(c["reconf"] for c in first.cores),
        "stall_cycles": sum(c["stall"] for c in first.cores),
        "busy_cycles": sum(c["busy"] for c in first.cores),
    }
    if cells:
        record["resources"] = resource_cells(design)
    return record


def kernel_graph(design: DesignPlan) -> KernelGraph:
    """The task graph a design was planned for (sizes are recorded in its decisions)."""
    return build_kernel(design.kernel, dict(design.decisions.get("sizes", {})))


def report(kernels: Sequence[str] | None = None, variants: Sequence[str] | None = None, *,
           seeds: Iterable[int] = (0,), sizes: Mapping[str, Mapping[str, int]] | None = None,
           budget: Budget | Mapping[str, int] | None = None, cells: bool = True) -> list[dict[str, Any]]:
    """Simulate every requested kernel x variant and return one metrics dict per design."""
    kernels = list(kernels or KERNELS)
    variants = list(variants or VARIANTS)
    for name in kernels:
        if name not in BUILDERS:
            raise HwError(f"unknown kernel {name!r}; known: {', '.join(KERNELS)}", source="--kernel")
    for name in variants:
        if name not in VARIANTS:
            raise HwError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}", source="--variant")
    seeds = list(seeds)
    records = []
    for kernel in kernels:
        kernel_sizes = dict((sizes or {}).get(kernel, {}))
        for variant in variants:
            design = plan(kernel, variant, sizes=kernel_sizes, budget=budget)
            records.append(evaluate(design, seeds=seeds, cells=cells))
    return records


def speedups(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """InTAR speedup over each baseline per kernel, and the geometric means."""
    by_kernel: dict[str, dict[str, int]] = {}
    for r in records:
        by_kernel.setdefault(r["kernel"], {})[r["variant"]] = r["cycles"]
    table: dict[str, dict[str, float]] = {}
    for kernel, cycles in by_kernel.items():
        if "intar" not in cycles:
            continue
        table[kernel] = {f"vs_{v}": cycles[v] / cycles["intar"] for v in ("sequential", "dataflow") if v in cycles}
    geomean = {}
    for key in ("vs_sequential", "vs_dataflow"):
        values = [row[key] for row in table.values() if key in row]
        if values:
            geomean[key] = float(np.exp(np.mean(np.log(values))))
    return {"per_kernel": table, "geomean": geomean}
