"""Training rollouts on the study backends: rollouts per second on the local backend with 1 and 2 workers
and on an in-process Ray with 2 CPUs, measured side by side.

Each backend is entered once (its workers stay up, as during training) and warmed with one map, so
start-up is timed separately; then ``--rounds`` rounds each map the same ``--rollouts`` sampled
:class:`~agents.rollout.RolloutJob` values (one training iteration's worth: the shipped network, one
arrival sequence, different policy seeds) on every backend in turn, so a load change on the shared
machine hits all three alike. Episodes are checked to be identical across backends.

    .venv/bin/python benchmarks/rollout_backends.py                    # 4 rollouts x 100 jobs, 3 rounds
    .venv/bin/python benchmarks/rollout_backends.py --rollouts 8 --jobs 50 --rounds 5
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import time
from typing import Any

from agents.checkpoint import load_checkpoint
from agents.rollout import Episode, RolloutJob, run_job
from soc_emu.engine.options import RunOptions
from soc_emu.study.backends import make_backend


def rollout_jobs(rollouts: int, jobs: int, rate: float) -> list[RolloutJob]:
    """One training iteration's rollouts: the shipped network sampling on one arrival sequence."""
    loaded = load_checkpoint()
    weights = {k: v.detach().clone() for k, v in loaded.net.state_dict().items()}
    options = RunOptions(seed=1234, num_jobs=jobs, noise_rsd=0.1)
    return [RolloutJob("hetero", "ds3_mix", rate, options, loaded.rule, model=loaded.net.config, weights=weights,
                       mode="sample", sigma=0.2, policy_seed=k) for k in range(rollouts)]


def fingerprint(episodes: list[Episode]) -> list[tuple[Any, ...]]:
    return [(len(e.steps), e.total_latency, tuple(s.action for s in e.steps)) for e in episodes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rollouts", type=int, default=4, help="rollouts per map (one training iteration)")
    parser.add_argument("--jobs", type=int, default=100, help="jobs per rollout")
    parser.add_argument("--rate", type=float, default=70.0, help="arrival rate (jobs/ms)")
    parser.add_argument("--rounds", type=int, default=3, help="timed maps per backend")
    args = parser.parse_args()

    import ray

    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False,
             _node_ip_address="127.0.0.1")
    ray_init_s = time.perf_counter() - t0
    jobs = rollout_jobs(args.rollouts, args.jobs, args.rate)
    backends = {"local, 1 worker": make_backend("local", workers=1), "local, 2 workers": make_backend("local", workers=2),
                "ray, 2 CPUs": make_backend("ray", workers=2)}
    startup: dict[str, float] = {}
    timed: dict[str, list[float]] = {name: [] for name in backends}
    prints: dict[str, Any] = {}
    load_before = os.getloadavg()[0]
    try:
        with contextlib.ExitStack() as running:
            for name, backend in backends.items():
                running.enter_context(backend)  # its workers stay up until the end, as during training
                t0 = time.perf_counter()
                backend.map(run_job, jobs[: max(backend.workers, 1)])  # start (and warm) every worker
                startup[name] = time.perf_counter() - t0
            for _ in range(args.rounds):
                for name, backend in backends.items():
                    t0 = time.perf_counter()
                    episodes = backend.map(run_job, jobs)
                    timed[name].append(time.perf_counter() - t0)
                    prints.setdefault(name, fingerprint(episodes))
    finally:
        ray.shutdown()
    same = len({repr(p) for p in prints.values()}) == 1
    print(f"{args.rounds} rounds x {args.rollouts} rollouts x {args.jobs} jobs at {args.rate:g} jobs/ms (hetero, "
          f"shipped network, sampling); load average before/after: {load_before:.2f}/{os.getloadavg()[0]:.2f}")
    print(f"ray.init: {ray_init_s:.1f} s (not counted)")
    base = None
    print(f"{'backend':<18} {'warm-up s':>9} {'rollouts/s':>10} {'vs 1 worker':>11}")
    for name in backends:
        rate = args.rollouts * args.rounds / sum(timed[name])
        base = base or rate
        print(f"{name:<18} {startup[name]:9.2f} {rate:10.2f} {rate / base:10.2f}x")
    print(f"identical episodes on every backend: {same}")


if __name__ == "__main__":
    main()
