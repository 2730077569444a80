"""Benchmark: where does InTAR's per-task choice beat both baselines? A budget sweep of the planner.

Usage: ``.venv/bin/python benchmarks/hw_sweep.py [--simulate] [--kernel K ...] [--min-gain 1.03]``

For every kernel and every budget of a small grid (MAC lanes, off-chip words per cycle, latency,
weight-buffer bytes; the kernel's other defaults), plans the three variants and prints the budgets
where InTAR's estimated cycles beat the better feasible baseline by at least ``--min-gain``, with
InTAR's mapping. Budgets where a baseline cannot be built at all are listed separately.
``--simulate`` also measures those InTAR designs and their baselines under Verilator (bit-exactness
checked), which takes a Verilator build per new design.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GRID = {"lanes": (16, 32), "words_per_cycle": (1, 2, 4), "latency": (64, 256), "weight_bytes": (None, 8192)}


def _plans(kernel: str, budget: dict) -> dict:
    from hw import api
    from hw.errors import HwError

    plans = {}
    for variant in ("sequential", "dataflow", "intar"):
        try:
            plans[variant] = api.plan(kernel, variant, budget=budget)
        except HwError as error:
            plans[variant] = error
    return plans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", action="append", default=None)
    parser.add_argument("--min-gain", type=float, default=1.03)
    parser.add_argument("--simulate", action="store_true")
    args = parser.parse_args()

    from hw import api

    kernels = args.kernel or list(api.KERNELS)
    wins, missing = [], []
    for kernel in kernels:
        for values in itertools.product(*GRID.values()):
            budget = {k: v for k, v in zip(GRID, values) if v is not None}
            plans = _plans(kernel, budget)
            intar = plans["intar"]
            if isinstance(intar, Exception):
                continue
            baselines = {v: p for v, p in plans.items() if v != "intar" and not isinstance(p, Exception)}
            if len(baselines) < 2:
                missing.append((kernel, budget, sorted(set(("sequential", "dataflow")) - set(baselines)),
                                intar.decisions["mapping"]))
            if not baselines:
                continue
            best = min(p.estimate["cycles"] for p in baselines.values())
            gain = best / intar.estimate["cycles"]
            if gain >= args.min_gain:
                wins.append((kernel, budget, gain, intar, baselines))
    print(f"InTAR estimated >= {args.min_gain:.2f}x faster than the better feasible baseline:")
    for kernel, budget, gain, intar, baselines in wins:
        line = (f"  {kernel:<9} {budget}: {gain:.2f}x  intar {int(intar.estimate['cycles'])} "
                + " ".join(f"{v} {int(p.estimate['cycles'])}" for v, p in baselines.items())
                + f"  {intar.decisions['mapping']}")
        print(line)
        if args.simulate:
            measured = {v: api.evaluate(p, cells=False) for v, p in {"intar": intar, **baselines}.items()}
            exact = all(r["bit_exact"] for r in measured.values())
            best_base = min(r["cycles"] for v, r in measured.items() if v != "intar")
            print(f"    measured: intar {measured['intar']['cycles']} vs best baseline {best_base}: "
                  f"{best_base / measured['intar']['cycles']:.2f}x (bit-exact: {exact})")
    print("budgets where a baseline cannot be built (InTAR can):")
    for kernel, budget, absent, mapping in missing:
        print(f"  {kernel:<9} {budget}: no {', '.join(absent)}; intar {mapping}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
