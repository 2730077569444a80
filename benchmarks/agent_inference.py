"""Inference latency of the learned scheduler: wall time per decision vs unfinished tasks in the system.

Usage::

    python benchmarks/agent_inference.py                 # shipped checkpoint, 400 jobs at 100 jobs/ms
    python benchmarks/agent_inference.py --model PATH --rate 120 --jobs 600

The agent schedules the default platform and workload at a high arrival rate (so the system holds up to
a few hundred unfinished tasks), in this one process pinned to one core with one torch thread. Each
decision is timed from the view to the assignment (features + network + choice; the engine's own time is
not counted) and bucketed by the number of unfinished tasks the observation holds.

Target (the project's issue): median < 1 ms per decision with up to 200 unfinished tasks.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

TARGET_MS = 1.0
BUCKETS = ((0, 50), (50, 100), (100, 150), (150, 200), (200, 300), (300, 10**9))


def pin_to_one_core() -> str:
    """Restrict this process to one CPU (Linux); returns a note for the report."""
    if hasattr(os, "sched_setaffinity"):
        cpu = sorted(os.sched_getaffinity(0))[-1]
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="checkpoint (default: the shipped one)")
    parser.add_argument("--platform", default="hetero")
    parser.add_argument("--workload", default="ds3_mix")
    parser.add_argument("--rate", type=float, default=100.0, help="arrival rate in jobs/ms (default 100)")
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    note = pin_to_one_core()
    import torch

    torch.set_num_threads(1)
    from agents.policy import Policy
    from agents.scheduler import DeepSoCSScheduler
    from soc_emu.engine.simulation import RunOptions, simulate
    from soc_emu.runner import ArrivalOverrides, apply_overrides, resolve_scenario

    platform, workload = resolve_scenario(args.platform, args.workload)
    workload = apply_overrides(workload, ArrivalOverrides(rate_jobs_per_ms=args.rate))
    scheduler = DeepSoCSScheduler(model_path=args.model)
    samples: list[tuple[int, float]] = []
    original = Policy.decide

    def timed(self, view, rng=None):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        out = original(self, view, rng)
        samples.append((sum(len(j.status) - j.tasks_done for j in view.jobs.values()), time.perf_counter() - t0))
        return out

    Policy.decide = timed  # type: ignore[method-assign]
    try:
        t0 = time.perf_counter()
        simulate(platform, workload, scheduler, RunOptions(seed=args.seed, num_jobs=args.jobs))
        wall = time.perf_counter() - t0
    finally:
        Policy.decide = original  # type: ignore[method-assign]

    data = np.array(samples)
    print(f"agent inference: {args.platform}/{args.workload}, {args.rate:g} jobs/ms, {args.jobs} jobs, "
          f"checkpoint {scheduler.model.path}; {note}, torch threads {torch.get_num_threads()}")
    print(f"{len(data)} decisions in {wall:.2f} s of wall time (engine included)")
    print(f"{'unfinished tasks':>18} {'decisions':>10} {'median ms':>10} {'p90 ms':>8} {'p99 ms':>8}")
    for lo, hi in BUCKETS:
        sel = data[(data[:, 0] >= lo) & (data[:, 0] < hi), 1] * 1e3
        if sel.size:
            label = f"{lo}-{hi - 1}" if hi < 10**9 else f">= {lo}"
            print(f"{label:>18} {sel.size:>10} {np.median(sel):>10.3f} {np.percentile(sel, 90):>8.3f} {np.percentile(sel, 99):>8.3f}")
    upto = data[data[:, 0] <= 200, 1] * 1e3
    if upto.size == 0:
        print("no decision with <= 200 unfinished tasks")
        return 1
    median = float(np.median(upto))
    verdict = "meets" if median < TARGET_MS else "MISSES"
    print(f"median over decisions with <= 200 unfinished tasks: {median:.3f} ms ({verdict} the < {TARGET_MS:g} ms target)")
    big = data[(data[:, 0] > 150) & (data[:, 0] <= 200), 1] * 1e3
    if big.size:
        print(f"median with 151-200 unfinished tasks: {float(np.median(big)):.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
