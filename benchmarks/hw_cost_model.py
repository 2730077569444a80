"""Benchmark: the planner's cost model against Verilator cycles at random shapes, per kernel x variant.

Usage: ``.venv/bin/python benchmarks/hw_cost_model.py [--shapes N] [--seed S] [--kernel K ...]
[--variant V ...] [--json FILE]``

For each kernel it draws ``--shapes`` random sizes (:func:`hw.kernels.random_sizes`, one seeded numpy
Generator: every size between 1/8 and 1.5x its default, so mostly odd and unaligned), plans every
variant at the kernel's default budget, simulates each distinct design once under Verilator (InTAR's
design once when it equals a baseline's; bit-exact against the golden model of the unpadded problem)
and prints the estimate, the measured cycles and the relative error ``(estimate - measured) /
measured``; then the max and mean of ``|error|``. A size whose variant has no design under the budget
(e.g. a dataflow CNN whose line buffers exceed it) is listed as such and skipped. Exit status 1 if any
design is not bit-exact.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", type=int, default=4, help="random shapes per kernel")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--kernel", action="append", default=None)
    parser.add_argument("--variant", action="append", default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the records here")
    args = parser.parse_args()

    from hw import api
    from hw.designs.simulate import plan_key
    from hw.errors import HwError
    from hw.kernels import random_sizes
    from hw.planner import VARIANTS

    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    records, errors = [], []
    measured: dict[str, dict] = {}
    print(f"{'kernel':9} {'variant':10} {'exact':5} {'measured':>8} {'estimate':>8} {'error':>7}  sizes / mapping")
    for kernel in args.kernel or api.KERNELS:
        for _ in range(args.shapes):
            sizes = random_sizes(kernel, rng)
            for variant in args.variant or VARIANTS:
                try:
                    design = api.plan(kernel, variant, sizes=sizes)
                except HwError as error:
                    print(f"{kernel:9} {variant:10} {'-':5} {'-':>8} {'-':>8} {'-':>7}  {sizes}: {error}")
                    continue
                key = plan_key(design)         # InTAR's design is often a baseline's: simulate it once
                if key not in measured:
                    measured[key] = api.evaluate(design, seeds=(0,), cells=False)
                record = {**measured[key], "variant": variant}
                error = (record["estimate_cycles"] - record["cycles"]) / record["cycles"]
                errors.append(abs(error))
                records.append({**record, "sizes": sizes, "error": error})
                print(f"{kernel:9} {variant:10} {'yes' if record['bit_exact'] else 'NO':5} {record['cycles']:8d} "
                      f"{record['estimate_cycles']:8.0f} {100 * error:+6.1f}%  {sizes} {record['mapping']}", flush=True)
    elapsed = time.perf_counter() - start
    if errors:
        print(f"|error| over {len(errors)} designs: max {100 * max(errors):.1f}%, mean {100 * np.mean(errors):.1f}%")
    print(f"wall time: {elapsed:.0f} s (builds reused when cached under sim_build/)")
    if args.json:
        args.json.write_text(json.dumps(records, indent=2, default=str))
    return 0 if all(r["bit_exact"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
