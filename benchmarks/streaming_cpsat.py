"""The rolling-horizon `cpsat` scheduler against every heuristic, side by side on the same arrivals.

Scenarios (``--scenario``, repeatable; default both):

* ``ds3gym``: DS3Gym's setting: Topcuoglu's SoC and DAG, mean inter-arrival 25 us (Poisson), at most 3
  jobs in the system, arrivals dropped while full;
* ``hetero``: the default platform and workload (hetero, ds3_mix) at ``--rates`` (default 25 and 50 jobs/ms).

Every scheduler sees the same seeds (held-out seeds 1001...); the table gives the mean job latency (mean
over seeds of each run's mean), jobs completed and dropped, and cpsat's solver wall time per decision.
``srpt_eft`` (shortest remaining job first + EFT, the learned agent's expert) is taken from the registry,
or from ``agents.expert`` when it is not registered there.

    nice -n 10 python benchmarks/streaming_cpsat.py --jobs 300 --seeds 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from soc_emu.engine.options import RunOptions
from soc_emu.engine.simulation import simulate
from soc_emu.output.metrics import MetricsObserver
from soc_emu.runner import ArrivalOverrides, apply_overrides, resolve_scenario
from soc_emu.schedulers import make_scheduler, scheduler_names

HEURISTICS = ("heft", "peft", "etf", "eft", "met", "srpt_eft")


def build(name: str, limit: float) -> Any:
    if name == "cpsat":
        return make_scheduler("cpsat", max_deterministic_time=limit)
    if name == "srpt_eft" and name not in scheduler_names():
        from agents.expert import ExpertScheduler

        return ExpertScheduler()
    return make_scheduler(name)


def scenarios(args: argparse.Namespace) -> list[tuple[str, str, str, ArrivalOverrides]]:
    out = []
    if "ds3gym" in args.scenario:
        out.append(("ds3gym 40/ms cap 3 drop", "topcuoglu", "topcuoglu",
                    ArrivalOverrides(mean_interarrival_us=25.0, max_jobs_in_system=3, drop_when_full=True)))
    if "hetero" in args.scenario:
        for rate in args.rates:
            out.append((f"hetero {rate:g}/ms", "hetero", "ds3_mix", ArrivalOverrides(rate_jobs_per_ms=rate)))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", action="append", choices=("ds3gym", "hetero"))
    p.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")], default=[25.0, 50.0])
    p.add_argument("--jobs", type=int, default=300)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--limit", type=float, default=0.5, help="cpsat deterministic seconds per decision")
    p.add_argument("--schedulers", default=",".join(("cpsat", *HEURISTICS)))
    args = p.parse_args()
    args.scenario = args.scenario or ["ds3gym", "hetero"]
    names = args.schedulers.split(",")
    for label, platform_spec, workload_spec, overrides in scenarios(args):
        platform, workload = resolve_scenario(platform_spec, workload_spec)
        workload = apply_overrides(workload, overrides)
        print(f"\n{label}: {args.jobs} jobs x seeds 1001..{1000 + args.seeds}", flush=True)
        print(f"{'scheduler':>10} {'mean lat us':>11} {'done':>6} {'dropped':>7} {'solver s/decision':>17} {'run s':>7}")
        means: dict[str, float] = {}
        for name in names:
            lat, done, dropped, per_decision, wall = [], 0, 0, [], 0.0
            for seed in range(1001, 1001 + args.seeds):
                scheduler = build(name, args.limit)
                metrics = MetricsObserver()
                t0 = time.perf_counter()
                simulate(platform, workload, scheduler, RunOptions(seed=seed, num_jobs=args.jobs), observers=[metrics])
                wall += time.perf_counter() - t0
                m = metrics.result()
                lat.append(m["mean_latency_us"])
                done += m["jobs_completed"]
                dropped += m["jobs_dropped"]
                if hasattr(scheduler, "stats"):
                    per_decision.append(scheduler.stats()["solver_wall_mean_s"])
            means[name] = statistics.fmean(lat)
            solver = f"{statistics.fmean(per_decision):.3f}" if per_decision else "-"
            print(f"{name:>10} {means[name]:>11.1f} {done:>6} {dropped:>7} {solver:>17} {wall:>7.1f}", flush=True)
        if "cpsat" in means:
            best = min((v, k) for k, v in means.items() if k != "cpsat")
            print(f"cpsat vs best heuristic ({best[1]}): {means['cpsat'] / best[0] - 1:+.1%}")


if __name__ == "__main__":
    main()
