"""Fine-tuning a checkpoint to a user's platforms, then an honest test against every heuristic.

:func:`finetune` runs PPO (:mod:`agents.ppo`) from a checkpoint (the shipped one by default) on the user's
scenarios (platform, workload, rates, noise, failures) within a time budget, then
:func:`held_out_comparison` runs the fine-tuned network and every registered heuristic on held-out seeds
with the same jobs, noise and rate, and reports the learned scheduler against the *best* of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agents.checkpoint import load_checkpoint
from agents.ppo import PPOConfig, Scenario, train_ppo
from agents.rollout import RolloutPool
from soc_emu.engine.options import FailureModel
from soc_emu.engine.simulation import RunOptions, simulate
from soc_emu.errors import SocEmuError
from soc_emu.schedulers import make_scheduler, scheduler_names

#: Registered schedulers that are not heuristics (learned; loaded lazily with torch).
LEARNED = frozenset({"deepsocs"})


@dataclass(frozen=True)
class HeldOutRun:
    """One held-out run: a scheduler (or ``model`` checkpoint path) on a scenario at one seed."""

    scheduler: str
    platform: str
    workload: str
    rate_jobs_per_ms: float
    seed: int
    jobs: int
    noise_rsd: float
    failures: bool = False
    model: str | None = None


def held_out_latency(run: HeldOutRun) -> float:
    """Mean job latency (us) of one :class:`HeldOutRun` (module level: runs on pool workers)."""
    from soc_emu.runner import ArrivalOverrides, apply_overrides, resolve_scenario

    platform, workload = resolve_scenario(run.platform, run.workload)
    workload = apply_overrides(workload, ArrivalOverrides(rate_jobs_per_ms=run.rate_jobs_per_ms))
    scheduler = make_scheduler(run.scheduler, model_path=run.model) if run.model else make_scheduler(run.scheduler)

    class Latencies:
        total = 0.0
        count = 0

        def on_job(self, record) -> None:  # type: ignore[no-untyped-def]
            if not record.dropped:
                self.total += record.latency_us
                self.count += 1

    seen = Latencies()
    failures = FailureModel(mtbf_us=20_000.0, repair_us=2_000.0) if run.failures else None
    options = RunOptions(seed=run.seed, num_jobs=run.jobs, noise_rsd=run.noise_rsd, failures=failures)
    simulate(platform, workload, scheduler, options, observers=[seen])
    return seen.total / max(seen.count, 1)


@dataclass
class Comparison:
    """Mean latency per scheduler over the held-out seeds, and the learned one against the best heuristic."""

    latency_us: dict[str, float]
    best_heuristic: str
    learned_vs_best: float  #: learned / best heuristic - 1

    def lines(self) -> list[str]:
        rows = [f"  {name:<12} {lat:10.1f} us" for name, lat in sorted(self.latency_us.items(), key=lambda kv: kv[1])]
        return rows + [f"learned vs best heuristic ({self.best_heuristic}): {100 * self.learned_vs_best:+.1f}%"]


def held_out_comparison(pool: RolloutPool, model: str, scenario: Scenario, seeds: tuple[int, ...], jobs: int) -> Comparison:
    """The model at ``model`` beside every registered heuristic on the same held-out runs of ``scenario``
    (at its top rate and noise)."""
    names = [n for n in scheduler_names() if n not in LEARNED]
    sc = scenario

    def run(name: str, seed: int, path: str | None = None) -> HeldOutRun:
        return HeldOutRun(name, sc.platform, sc.workload, sc.rate_max, seed, jobs, sc.noise_max, sc.failures, path)

    runs = [run(n, s) for n in names for s in seeds] + [run("deepsocs", s, model) for s in seeds]
    lat = pool.run(held_out_latency, runs)
    k = len(seeds)
    latency = {name: float(np.mean(lat[i * k : (i + 1) * k])) for i, name in enumerate([*names, "learned"])}
    best = min(names, key=latency.__getitem__)
    return Comparison(latency, best, latency["learned"] / latency[best] - 1.0)


@dataclass
class FinetuneResult:
    best: Path
    elapsed_s: float
    comparisons: dict[str, Comparison]


def finetune(*, scenarios: tuple[Scenario, ...], out: str | Path, checkpoint: str | None, time_budget_s: float, seed: int,
             workers: int, test_seeds: tuple[int, ...], test_jobs: int, energy_weight: float = 0.0,
             jobs_per_episode: int = 100, episodes_per_iteration: int = 4, eval_jobs: int = 150,
             say: Callable[[str], None] = lambda msg: None) -> FinetuneResult:
    """PPO from ``checkpoint`` (None: the shipped one) on ``scenarios`` for at most ``time_budget_s`` seconds,
    then the held-out comparison of every scenario."""
    if not time_budget_s > 0:
        raise SocEmuError(f"must be > 0, got {time_budget_s / 60:g} minutes", source="--time-budget")
    load_checkpoint(checkpoint, source="--finetune")  # fail on a bad or incompatible file before any work
    config = PPOConfig(scenarios=scenarios, init_checkpoint=checkpoint, seed=seed, iterations=100_000, workers=workers,
                       time_budget_s=time_budget_s, energy_weight=energy_weight, eval_every=5,
                       jobs_per_episode=jobs_per_episode, episodes_per_iteration=episodes_per_iteration, eval_jobs=eval_jobs)
    result = train_ppo(config, out, say=say)
    say(f"trained for {result.elapsed_s / 60:.1f} min; held-out test on seeds {list(test_seeds)}, {test_jobs} jobs per run")
    with RolloutPool(workers) as pool:
        comparisons = {sc.name: held_out_comparison(pool, str(result.best), sc, test_seeds, test_jobs) for sc in scenarios}
    return FinetuneResult(result.best, result.elapsed_s, comparisons)
