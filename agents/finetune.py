"""Fine-tuning a checkpoint to a user's platforms, then an honest test against every heuristic.

:func:`finetune` runs PPO (:mod:`agents.ppo`) from a checkpoint (the shipped one by default) on the user's
scenarios (platform, workload, rates, noise, failures) within a time budget, then
:func:`held_out_comparison` runs the fine-tuned network and every scheduler ``soc-emu compare`` runs by
default on held-out seeds, as a study on the same study backend the training ran on (local workers or
Ray; same jobs, noise and rate for all), and reports the learned scheduler against the *best* heuristic.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.checkpoint import load_checkpoint
from agents.ppo import FAILURE_MTBF_US, FAILURE_REPAIR_US, PPOConfig, Scenario, train_ppo
from soc_emu.errors import SocEmuError
from soc_emu.study.backends import Backend, make_backend

@dataclass
class Comparison:
    """Mean latency per scheduler over the held-out seeds, and the learned one against the best heuristic."""

    latency_us: dict[str, float]
    best_heuristic: str
    learned_vs_best: float  #: learned / best heuristic - 1

    def lines(self) -> list[str]:
        rows = [f"  {name:<12} {lat:10.1f} us" for name, lat in sorted(self.latency_us.items(), key=lambda kv: kv[1])]
        return rows + [f"learned vs best heuristic ({self.best_heuristic}): {100 * self.learned_vs_best:+.1f}%"]


def held_out_comparison(model: str, scenario: Scenario, seeds: tuple[int, ...], jobs: int, backend: Backend) -> Comparison:
    """The model at ``model`` (as ``deepsocs``) beside every scheduler ``soc-emu compare`` runs by default, as a
    study (:mod:`soc_emu.study`) on ``backend`` of ``scenario`` at its top rate and noise on ``seeds``."""
    from soc_emu.schedulers.registry import default_comparison_names, scheduler_class
    from soc_emu.study import parse_spec, run_study
    from soc_emu.study.presets import scheduler_entries

    names = default_comparison_names()
    learned = {n for n in names if "model_path" in inspect.signature(scheduler_class(n)).parameters}
    if len(learned) != 1:
        raise SocEmuError(f"the held-out test needs exactly one learned scheduler among the compared ones, found "
                          f"{sorted(learned) or 'none'}", source="--finetune")
    sc: dict[str, Any] = {"name": "held_out", "platforms": [scenario.platform], "workloads": [scenario.workload],
                          "rates": [scenario.rate_max], "noise": [scenario.noise_max]}
    if scenario.failures:
        sc["failures"] = [{"mtbf_us": FAILURE_MTBF_US, "repair_us": FAILURE_REPAIR_US}]
    spec = parse_spec({"name": "finetune_held_out", "seeds": list(seeds), "jobs": jobs,
                       "schedulers": scheduler_entries(names, model_path=model), "scenarios": [sc]})
    rows = run_study(spec, backend=backend).rows
    latency: dict[str, float] = {}
    for name in names:
        values = [r["mean_latency_us"] for r in rows if r["scheduler"] == name and r["mean_latency_us"] is not None]
        if not values:  # every run failed (or finished no job): no figure to compare, say which and why
            errors = {r["error"] for r in rows if r["scheduler"] == name and r["error"]}
            why = "; ".join(sorted(errors)) or "no job finished"
            raise SocEmuError(f"no held-out run of {name!r} gave a latency ({why})", source="--finetune")
        latency["learned" if name in learned else name] = float(np.mean(values))
    heuristics = [n for n in names if n not in learned]
    best = min(heuristics, key=latency.__getitem__)
    return Comparison(latency, best, latency["learned"] / latency[best] - 1.0)


@dataclass
class FinetuneResult:
    """What a fine-tune produced: the best checkpoint, the time it took, and its held-out comparison per
    scenario."""

    best: Path
    elapsed_s: float
    comparisons: dict[str, Comparison]


def finetune(*, scenarios: tuple[Scenario, ...], out: str | Path, checkpoint: str | None, time_budget_s: float, seed: int,
             workers: int, test_seeds: tuple[int, ...], test_jobs: int, energy_weight: float = 0.0,
             jobs_per_episode: int = 100, episodes_per_iteration: int = 4, eval_jobs: int = 150, eval_every: int = 5,
             say: Callable[[str], None] = lambda msg: None, backend: Backend | None = None) -> FinetuneResult:
    """PPO from ``checkpoint`` (None: the shipped one) on ``scenarios`` for at most ``time_budget_s`` seconds,
    then the held-out comparison of every scenario, both on ``backend`` (default: the local backend with
    ``workers`` processes)."""
    if not time_budget_s > 0:
        raise SocEmuError(f"must be > 0, got {time_budget_s / 60:g} minutes", source="--time-budget")
    load_checkpoint(checkpoint, source="--finetune")  # fail on a bad or incompatible file before any work
    config = PPOConfig(scenarios=scenarios, init_checkpoint=checkpoint, seed=seed, iterations=100_000, workers=workers,
                       time_budget_s=time_budget_s, energy_weight=energy_weight, eval_every=eval_every,
                       jobs_per_episode=jobs_per_episode, episodes_per_iteration=episodes_per_iteration, eval_jobs=eval_jobs)
    backend = backend or make_backend("local", workers=workers)
    with backend:  # one set of workers for the training and the held-out test
        result = train_ppo(config, out, say=say, backend=backend)
        say(f"trained for {result.elapsed_s / 60:.1f} min; held-out test on seeds {list(test_seeds)}, {test_jobs} jobs per run")
        comparisons = {sc.name: held_out_comparison(str(result.best), sc, test_seeds, test_jobs, backend) for sc in scenarios}
    return FinetuneResult(result.best, result.elapsed_s, comparisons)
