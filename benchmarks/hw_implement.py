"""Benchmark: every kernel x variant simulated under Verilator and implemented on an ECP5-85F.

Usage: ``nice -n 10 .venv/bin/python benchmarks/hw_implement.py [--kernel K ...] [--variant V ...]
[--jobs N] [--out FILE]``

For each design at the default budgets: cycles (Verilator, bit-exact against the golden model), Fmax
(nextpnr-ecp5 out of context, per core; the design's is its slowest core's), time in microseconds
(cycles / Fmax), LUT4/FF/MULT18/DP16KD summed over the cores, and the cycles of the pre-pipelining
generator for comparison; then InTAR's speed-up over the sequential and dataflow variants in cycles and
in time, and the wall time. ``--out`` writes the implementation records that
``soc-emu hw export-timings --implementation FILE`` reads (the shipped ones are in
``soc_emu/data/timings/intar_fpga_implemented.json``). ``--jobs N`` places and routes N distinct cores at
a time in worker processes (each nextpnr is single-threaded) while the designs are simulated; every
result is cached in ``sim_build/implement``, so a re-run only implements what changed. The ``pnr cpu``
column is the slowest core's nextpnr CPU time: what place and route costs on one dedicated core,
whatever else the machine runs (the wall times are inflated by the machine's load).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: Cycles of every design before the datapath was pipelined (README table of the previous generator).
CYCLES_BEFORE = {("mlp", "sequential"): 33184, ("mlp", "dataflow"): 57669, ("mlp", "intar"): 33184,
                 ("ffn", "sequential"): 18829, ("ffn", "dataflow"): 24936, ("ffn", "intar"): 18829,
                 ("cnn", "sequential"): 56358, ("cnn", "dataflow"): 149891, ("cnn", "intar"): 56358,
                 ("attention", "sequential"): 21089, ("attention", "dataflow"): 66078,
                 ("attention", "intar"): 21089}


def speedups(rows: list[dict]) -> list[str]:
    """A table of InTAR's speed-up over each baseline variant, per kernel, in cycles and in time (us)."""
    by_kernel: dict[str, dict[str, dict]] = {}
    for row in rows:
        by_kernel.setdefault(row["kernel"], {})[row["variant"]] = row
    lines = [f"{'kernel':<9} {'intar us':>9} {'vs sequential: cycles':>22} {'time':>6} "
             f"{'vs dataflow: cycles':>20} {'time':>6}"]
    for kernel, variants in by_kernel.items():
        intar = variants.get("intar")
        if intar is None:
            continue
        cells = []
        for baseline in ("sequential", "dataflow"):
            other = variants.get(baseline)
            cells += ([f"{other['cycles'] / intar['cycles']:.2f}x", f"{other['us'] / intar['us']:.2f}x"]
                      if other else ["-", "-"])
        lines.append(f"{kernel:<9} {intar['us']:>9.1f} {cells[0]:>22} {cells[1]:>6} {cells[2]:>20} {cells[3]:>6}")
    return lines


def implement_one(kernel: str, variant: str, index: int) -> None:
    """Implement core ``index`` of a design at the default budgets (worker process: fills the cache)."""
    from hw import api
    from hw.implement import implement_core

    implement_core(api.plan(kernel, variant), index)


def distinct_cores(kernels: list[str], variants: list[str]) -> list[tuple[str, str, int]]:
    """``(kernel, variant, core)`` of every core whose RTL differs from the ones before it (InTAR and
    sequential designs are often the same circuit)."""
    from hw import api
    from hw.implement.flow import core_rtlil

    seen, cores = set(), []
    for kernel in kernels:
        for variant in variants:
            design = api.plan(kernel, variant)
            for index in range(len(design.cores)):
                rtl = core_rtlil(design, index).read_text()
                if rtl not in seen:
                    seen.add(rtl)
                    cores.append((kernel, variant, index))
    return cores


def main() -> int:
    from concurrent.futures import ProcessPoolExecutor

    from hw import api
    from hw.api import KERNELS, VARIANTS
    from hw.implement import implement_design

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", action="append", default=None, help="only this kernel (repeatable)")
    parser.add_argument("--variant", action="append", default=None, help="only this variant (repeatable)")
    parser.add_argument("--jobs", type=int, default=1, help="cores placed and routed at a time (default 1)")
    parser.add_argument("--out", type=Path, default=None, help="write the implementation records here (JSON)")
    args = parser.parse_args()
    started = time.monotonic()
    cores = distinct_cores(args.kernel or list(KERNELS), args.variant or list(VARIANTS))
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        placing = [pool.submit(implement_one, *core) for core in cores]
        records = api.report(args.kernel, args.variant, cells=False)     # Verilator meanwhile
        for job in placing:
            job.result()
    rows, implementations = [], []
    print(f"{'kernel':<9} {'variant':<10} {'exact':<5} {'cycles':>7} {'before':>7} {'Fmax':>6} {'us':>8} "
          f"{'LUT4':>6} {'FF':>6} {'MULT18':>6} {'DP16KD':>6} {'pnr s':>6} {'pnr cpu':>7}  critical path (slowest core)",
          flush=True)
    for record in records:
        design = api.plan(record["kernel"], record["variant"])
        impl = implement_design(design)
        implementations.append(impl)
        used = {name: impl["utilisation"].get(name, {}).get("used", 0) for name in ("LUT4", "FF", "MULT18", "DP16KD")}
        us = record["cycles"] / impl["fmax_mhz"]
        rows.append({"kernel": record["kernel"], "variant": record["variant"], "cycles": record["cycles"], "us": us})
        pnr = sum(c["pnr_seconds"] for c in impl["cores"])
        pnr_cpu = max(c.get("pnr_cpu_seconds", 0.0) for c in impl["cores"])
        before = CYCLES_BEFORE.get((record["kernel"], record["variant"]), 0)
        print(f"{record['kernel']:<9} {record['variant']:<10} {('yes' if record['bit_exact'] else 'NO'):<5} "
              f"{record['cycles']:>7} {before:>7} {impl['fmax_mhz']:>6.1f} {us:>8.1f} {used['LUT4']:>6} "
              f"{used['FF']:>6} {used['MULT18']:>6} {used['DP16KD']:>6} {pnr:>6.0f} {pnr_cpu:>7.0f}  {impl['critical_core']}: "
              f"{impl['critical_from']} -> {impl['critical_to']}", flush=True)
    print()
    for line in speedups(rows):
        print(line)
    if args.out is not None:
        args.out.write_text(json.dumps({"command": "benchmarks/hw_implement.py", "designs": implementations},
                                       indent=1) + "\n")
    print(f"wall time {time.monotonic() - started:.0f} s (place-and-route results are cached in sim_build/implement)")
    return 0 if all(r["bit_exact"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
