"""How far HEFT, PEFT, ETF and MET land from the optimum: `soc-emu bound` on random DAGs.

Default: 100 random DAGs of 10-30 tasks per CCR (0.1, 1, 5) on the `quad` platform (4 heterogeneous
single-slot PEs), CP-SAT with one worker and a deterministic limit of 10 s per instance. Prints the gap
table (mean / median / max gap per scheduler and CCR, share proven optimal, median solve time) and writes
bound.csv, summary.csv and bound.png into --out. Use --instances for a reduced run.

    nice -n 10 python benchmarks/optimality_gap.py --instances 100 --out results/optimality_gap
"""

from __future__ import annotations

import argparse
import sys

from soc_emu.cli import main as soc_emu


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--instances", type=int, default=100, help="random DAGs per CCR (default: 100)")
    p.add_argument("--tasks", default="10-30", help="task count range (default: 10-30)")
    p.add_argument("--ccr", default="0.1,1,5", help="CCRs (default: 0.1,1,5)")
    p.add_argument("--time-limit", default="10", help="CP-SAT deterministic seconds per instance (default: 10)")
    p.add_argument("--schedulers", default="heft,peft,etf,met")
    p.add_argument("--workers", default="1", help="parallel runs (default: 1; the solver itself uses one core)")
    p.add_argument("--out", default="results/optimality_gap")
    args = p.parse_args()
    return soc_emu(["bound", "--instances", str(args.instances), "--tasks", args.tasks, "--ccr", args.ccr,
                    "--time-limit", args.time_limit, "--schedulers", args.schedulers, "--workers", args.workers,
                    "--out", args.out])


if __name__ == "__main__":
    sys.exit(main())
