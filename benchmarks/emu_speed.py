"""Emulator speed: simulated tasks per wall-clock second for each scheduler, and a million-task run.

Usage::

    python benchmarks/emu_speed.py            # full: 3,000 jobs per scheduler + a 1,000,000-task MET run
    python benchmarks/emu_speed.py --quick    # 500 jobs per scheduler + a 100,000-task run

Each scheduler runs the ``ds3`` platform (DS3's 16-PE MULTIPLE_BAL SoC) under the ``ds3_mix`` job mix at
``--rate`` jobs/ms (default 2, a mean gap of 500 us: a load this platform sustains under every scheduler
here, even random, whose mean latency stays flat from 1,000 to 3,000 jobs at this rate while it keeps
growing at 5 jobs/ms), with no tracing, in this one process pinned to one core. The million-task run (MET) runs in a child process so
its peak resident memory (``resource.getrusage``) is its own; the target is < 1 GB.

Targets (the project's issue): >= 30,000 tasks/s for MET and ETF, >= 5,000 tasks/s for streaming HEFT.

DVFS and thermal (``--power-repeats``, default 5; 0 skips): the same MET run on ``hetero`` (fixed power,
no power model) and on ``hetero_dvfs`` (the same SoC with OPPs, C V^2 f + leakage power and the RC thermal
model) under ``performance`` (power and thermal integration only) and ``ondemand`` (plus governor sampling
and frequency changes), interleaved, best of N each, so machine noise hits all three alike; speeds are
tasks per second of *process CPU time* (less sensitive than wall time to other load on a shared machine)
and it prints the slowdown of each against ``hetero`` (target: at most 30 %).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from soc_emu.engine.options import RunOptions  # noqa: E402
from soc_emu.runner import ArrivalOverrides, RunConfig, execute, resolve_scenario  # noqa: E402

SCHEDULERS = ("random", "round_robin", "met", "etf", "heft")
PLATFORM = "ds3"
WORKLOAD = "ds3_mix"
TARGETS = {"met": 30_000, "etf": 30_000, "heft": 5_000}


def pin_to_one_core() -> str:
    """Restrict this process to one CPU (Linux); returns a note for the report."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def run_one(scheduler: str, jobs: int, rate: float, seed: int) -> dict:
    """One untraced run; the figures the table shows."""
    result = execute(RunConfig(platform=PLATFORM, workload=WORKLOAD, scheduler=scheduler,
                               options=RunOptions(seed=seed, num_jobs=jobs),
                               arrivals=ArrivalOverrides(rate_jobs_per_ms=rate)))
    m = result.metrics
    tasks = m["tasks_completed"] + m["tasks_killed"]
    return {"scheduler": scheduler, "jobs": m["jobs_completed"], "tasks": tasks, "wall_s": result.wall_seconds,
            "tasks_per_s": tasks / result.wall_seconds, "mean_latency_us": m["mean_latency_us"],
            "mean_utilization": m["mean_utilization"]}


POWER_CASES = (("hetero", None), ("hetero_dvfs", "performance"), ("hetero_dvfs", "ondemand"))


def power_overhead(jobs: int, rate: float, repeats: int) -> None:
    """Tasks/s with the power model off and on, measured side by side (see the module docstring)."""
    best: dict[tuple[str, str | None], float] = {}
    tasks: dict[tuple[str, str | None], int] = {}
    for _ in range(repeats):
        for case in POWER_CASES:
            platform, governor = case
            cpu = time.process_time()
            result = execute(RunConfig(platform=platform, workload=WORKLOAD, scheduler="met",
                                       options=RunOptions(seed=0, num_jobs=jobs, governor=governor),
                                       arrivals=ArrivalOverrides(rate_jobs_per_ms=rate)))
            cpu = time.process_time() - cpu
            m = result.metrics
            tasks[case] = m["tasks_completed"] + m["tasks_killed"]
            speed = tasks[case] / cpu
            best[case] = max(best.get(case, 0.0), speed)
    base = best[POWER_CASES[0]]
    print(f"\nDVFS + thermal: MET, {WORKLOAD} at {rate:g} jobs/ms, {jobs} jobs, best of {repeats} interleaved runs")
    print(f"{'platform':<14}{'governor':<13}{'tasks':>8}{'tasks/cpu-s':>13}{'slower by':>11}")
    for case in POWER_CASES:
        slower = base / best[case] - 1.0
        verdict = "" if case == POWER_CASES[0] else f"  {'ok' if slower <= 0.30 else 'MISSED'} (target <= 30 %)"
        print(f"{case[0]:<14}{case[1] or '-':<13}{tasks[case]:>8}{best[case]:>13,.0f}{100 * slower:>10.1f}%{verdict}",
              flush=True)


def million_child(tasks: int, rate: float, scheduler: str) -> None:
    """Child-process mode: run about ``tasks`` tasks and print one JSON line with wall time and peak RSS."""
    pin_to_one_core()
    _, workload = resolve_scenario(PLATFORM, WORKLOAD)
    mean_tasks = sum(p * len(g) for g, p in zip(workload.mix.graphs, workload.mix.normalised))
    jobs = math.ceil(tasks / mean_tasks)
    row = run_one(scheduler, jobs, rate, seed=1)
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    print(json.dumps(row))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (500 jobs, 100,000-task big run)")
    parser.add_argument("--jobs", type=int, help="jobs per scheduler run (default 3000, quick 500)")
    parser.add_argument("--rate", type=float, default=2.0, help="arrival rate in jobs/ms (default 2)")
    parser.add_argument("--schedulers", default=",".join(SCHEDULERS), help="comma-separated list")
    parser.add_argument("--big-tasks", type=int, help="tasks in the big run (default 1,000,000, quick 100,000; 0 skips)")
    parser.add_argument("--big-scheduler", default="met", help="scheduler of the big run (default met)")
    parser.add_argument("--power-repeats", type=int, default=5,
                        help="interleaved repeats of the DVFS + thermal on/off comparison (default 5; 0 skips)")
    parser.add_argument("--child-big", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_big is not None:
        million_child(args.child_big, args.rate, args.big_scheduler)
        return 0

    jobs = args.jobs or (500 if args.quick else 3000)
    big = args.big_tasks if args.big_tasks is not None else (100_000 if args.quick else 1_000_000)
    pin_note = pin_to_one_core()
    print(f"platform {PLATFORM}, workload {WORKLOAD} at {args.rate:g} jobs/ms, {jobs} jobs per run, "
          f"seed 0, no tracing, one process {pin_note}, Python {sys.version.split()[0]}")
    print(f"{'scheduler':<12}{'jobs':>7}{'tasks':>9}{'wall s':>9}{'tasks/s':>11}{'mean lat us':>13}{'util %':>8}  target")
    for name in args.schedulers.split(","):
        row = run_one(name, jobs, args.rate, seed=0)
        target = TARGETS.get(name)
        verdict = "" if target is None else f">= {target:,}: {'ok' if row['tasks_per_s'] >= target else 'MISSED'}"
        print(f"{name:<12}{row['jobs']:>7}{row['tasks']:>9}{row['wall_s']:>9.2f}{row['tasks_per_s']:>11,.0f}"
              f"{row['mean_latency_us']:>13,.1f}{100 * row['mean_utilization']:>8.1f}  {verdict}", flush=True)
    if args.power_repeats > 0:
        power_overhead(jobs, args.rate, args.power_repeats)
    if big > 0:
        out = subprocess.run(
            [sys.executable, __file__, "--child-big", str(big), "--rate", str(args.rate),
             "--big-scheduler", args.big_scheduler],
            check=True, capture_output=True, text=True,
        )
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"\nbig run ({args.big_scheduler}): {row['jobs']:,} jobs, {row['tasks']:,} tasks in {row['wall_s']:.1f} s "
              f"({row['tasks_per_s']:,.0f} tasks/s), peak RSS {row['peak_rss_mb']:.0f} MB "
              f"({'< 1 GB: ok' if row['peak_rss_mb'] < 1024 else '>= 1 GB: MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
