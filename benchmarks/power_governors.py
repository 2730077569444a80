"""Latency against energy for each DVFS governor x scheduler on the default workload.

Usage::

    python benchmarks/power_governors.py                 # 500 jobs, seeds 0-2, writes docs/power_governors.png
    python benchmarks/power_governors.py --jobs 200 --seeds 1 --out /tmp/gov.png

Every run uses ``hetero_dvfs`` (the default SoC with OPPs, power and thermal models) and the default
workload at its own arrival rate; only the governor (``--governor``) and the scheduler change. Per pair it
prints the mean over seeds of the mean job latency, the energy per finished job (whole-SoC energy /
jobs, idle and leakage included), the EDP (energy per job x mean latency) and the peak temperature, as a
markdown table, and draws mean latency against energy per job (one colour per scheduler, one marker per
governor).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from soc_emu.engine.options import RunOptions  # noqa: E402
from soc_emu.runner import RunConfig, execute  # noqa: E402

GOVERNORS = ("performance", "ondemand", "schedutil", "userspace:1000", "powersave")
SCHEDULERS = ("etf", "heft", "energy_etf")
MARKERS = {"performance": "o", "ondemand": "s", "schedutil": "^", "userspace:1000": "D", "powersave": "v"}


def measure(scheduler: str, governor: str, jobs: int, seeds: list[int]) -> dict[str, float]:
    """Mean over seeds of latency, energy per job, EDP and peak temperature."""
    rows = []
    for seed in seeds:
        m = execute(RunConfig(platform="hetero_dvfs", scheduler=scheduler,
                              options=RunOptions(seed=seed, num_jobs=jobs, governor=governor))).metrics
        rows.append((m["mean_latency_us"], m["energy_per_job_uj"], m["edp_uj_us"], m["peak_temperature_c"]))
    n = len(rows)
    return {key: sum(r[i] for r in rows) / n for i, key in enumerate(("latency_us", "energy_uj", "edp", "peak_c"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=500, help="jobs per run (default 500)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per pair (default 3)")
    parser.add_argument("--schedulers", default=",".join(SCHEDULERS))
    parser.add_argument("--governors", default=",".join(GOVERNORS))
    parser.add_argument("--out", default="docs/power_governors.png", help="PNG to write ('' : none)")
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    results: dict[tuple[str, str], dict[str, float]] = {}
    print(f"hetero_dvfs, default workload, {args.jobs} jobs, seeds {seeds[0]}-{seeds[-1]} (means over seeds)\n")
    print("| scheduler | governor | mean latency (us) | energy per job (uJ) | EDP (uJ x us) | peak temp (C) |")
    print("|---|---|---:|---:|---:|---:|")
    for scheduler in args.schedulers.split(","):
        for governor in args.governors.split(","):
            r = results[(scheduler, governor)] = measure(scheduler, governor, args.jobs, seeds)
            print(f"| {scheduler} | {governor} | {r['latency_us']:,.1f} | {r['energy_uj']:,.1f} | {r['edp']:,.0f} "
                  f"| {r['peak_c']:.1f} |", flush=True)
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from matplotlib.lines import Line2D

        fig, ax = plt.subplots(figsize=(7, 4.5))
        schedulers, governors = args.schedulers.split(","), args.governors.split(",")
        for k, scheduler in enumerate(schedulers):
            points = [results[(scheduler, g)] for g in governors]
            ax.plot([r["energy_uj"] for r in points], [r["latency_us"] for r in points], color=f"C{k}", lw=0.8,
                    alpha=0.5)
            for governor, r in zip(governors, points):
                ax.scatter(r["energy_uj"], r["latency_us"], color=f"C{k}", marker=MARKERS.get(governor, "x"), s=40)
        ax.set_yscale("log")
        ax.set_xlabel("energy per job (uJ)")
        ax.set_ylabel("mean job latency (us, log scale)")
        ax.set_title(f"hetero_dvfs, default workload, {args.jobs} jobs x {len(seeds)} seeds")
        by_scheduler = ax.legend(handles=[Line2D([], [], color=f"C{k}", marker="o", lw=0, label=s)
                                          for k, s in enumerate(schedulers)], title="scheduler", loc="upper right")
        ax.add_artist(by_scheduler)
        ax.legend(handles=[Line2D([], [], color="gray", marker=MARKERS.get(g, "x"), lw=0, label=g) for g in governors],
                  title="governor", loc="upper center")
        fig.tight_layout()
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.out, dpi=120)
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
