"""CP-SAT scaling: share of random DAGs proven optimal within the limit, and solve times, from 10 to 100 tasks.

Per size, --instances random DAGs (Topcuoglu-style generator, CCR --ccr, het 1, fan-out 3) on the `quad`
platform, solved for the makespan with one worker and a deterministic limit (default 10 s; about 10 s
of one unloaded core). Prints per size: instances, share proven optimal, median and max deterministic
time, median wall time, median gap between the best schedule and the bound, and the mean improvement
over the HEFT warm start.

    nice -n 10 python benchmarks/cpsat_scaling.py --sizes 10,20,30,50,75,100 --instances 10
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from soc_emu.formats import load_scenario
from soc_emu.optimal import SolverLimits, StaticInstance, solve
from soc_emu.schedulers.heft_plan import CostModel


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10,20,30,50,75,100")
    p.add_argument("--instances", type=int, default=10, help="DAGs per size (default: 10)")
    p.add_argument("--ccr", type=float, default=1.0)
    p.add_argument("--time-limit", type=float, default=10.0, help="deterministic seconds per instance")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    limits = SolverLimits(max_deterministic_time=args.time_limit, num_workers=1)
    print(f"CCR {args.ccr:g}, {args.instances} DAGs per size, limit {args.time_limit:g} deterministic s, 1 worker")
    print(f"{'tasks':>5} {'n':>3} {'proven':>7} {'det s med':>9} {'det s max':>9} {'wall s med':>10} "
          f"{'gap med':>8} {'vs HEFT':>8}", flush=True)
    rng = np.random.default_rng(args.seed)
    for size in (int(x) for x in args.sizes.split(",")):
        dets, walls, gaps, gains, proven = [], [], [], [], 0
        for _ in range(args.instances):
            spec = f"random:tasks={size},ccr={args.ccr:g},het=1,fanout=3,seed={int(rng.integers(1 << 30))}"
            platform, workload = load_scenario("quad", spec)
            instance = StaticInstance.single(platform, workload.mix.graphs[0])
            solution = solve(instance.jobs_to_plan(), CostModel(platform), limits=limits)
            proven += solution.optimal
            dets.append(solution.deterministic_seconds)
            walls.append(solution.wall_seconds)
            gaps.append(solution.gap)
            gains.append(1 - solution.objective_us / solution.heuristic_us)
        print(f"{size:>5} {args.instances:>3} {proven / args.instances:>7.0%} {statistics.median(dets):>9.2f} "
              f"{max(dets):>9.2f} {statistics.median(walls):>10.2f} {statistics.median(gaps):>8.1%} "
              f"{statistics.fmean(gains):>8.1%}", flush=True)


if __name__ == "__main__":
    main()
