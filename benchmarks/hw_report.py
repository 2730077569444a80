"""Benchmark: simulate every kernel x variant of the accelerator generator and print the comparison.

Usage: ``.venv/bin/python benchmarks/hw_report.py [--seeds N] [--json FILE] [--no-cells]``

Prints the per-design table of ``soc-emu hw report`` (cycles measured in Verilator, bit-exactness over
``--seeds`` random inputs, off-chip words by kind, buffers, Yosys cell counts), InTAR's speedup over
each baseline per kernel and their geometric means, and the wall time. The default budget (16 MAC
lanes, 2560 activation bytes, 4 int8 words/cycle off-chip with 64-cycle latency; attention: 32 lanes,
5 cores, 4096 bytes) is the one in the README; pass budget flags of ``soc-emu hw report`` through ``--budget KEY=N``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the records here")
    parser.add_argument("--no-cells", action="store_true")
    parser.add_argument("--budget", action="append", default=[], metavar="KEY=N",
                        help="budget override, e.g. --budget words_per_cycle=2")
    args = parser.parse_args()

    from hw import api
    from soc_emu.cli.hw_cmd import format_table

    budget = {key: int(value) for key, _, value in (item.partition("=") for item in args.budget)}
    start = time.perf_counter()
    records = api.report(seeds=range(args.seeds), budget=budget or None, cells=not args.no_cells)
    elapsed = time.perf_counter() - start
    summary = api.speedups(records)
    print(format_table(records, summary))
    for kernel in api.KERNELS:
        print(f"budget ({kernel}): {api.make_budget(budget or None, kernel)}")
    print(f"wall time: {elapsed:.1f} s (builds reused when cached under sim_build/)")
    if args.json:
        args.json.write_text(json.dumps({"designs": records, "speedups": summary}, indent=2, default=str))
    return 0 if all(r["bit_exact"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
