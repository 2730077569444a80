"""PPO with GAE and a value head for the learned scheduler, in one loop you can read top to bottom.

The loop (:func:`train_ppo`), CleanRL style:

1. **Collect.** Draw a training scenario (platform, workload, arrival rate, noise, failures) and run
   ``episodes_per_iteration`` episodes of the current policy, sampling, on a study backend (local worker
   processes or Ray tasks: ``backend.map(run_job, jobs)``; each episode is a
   :class:`~agents.rollout.RolloutJob` value).
2. **Advantages.** Per step: the reward ``r_k = -(Phi(t_{k+1}) - Phi(t_k)) / scale`` (the growth of the
   area under "jobs in the system", plus ``energy_weight x`` energy; see :mod:`agents.rollout`), the value
   ``V(s_k)`` from the value head, and GAE(``gamma``, ``lambda``) advantages; returns are
   ``advantage + value``.
3. **Update.** ``update_epochs`` passes over shuffled minibatches: the clipped surrogate
   ``-min(ratio x A, clip(ratio, 1 - eps, 1 + eps) x A)``, plus ``value_coef x (V - return)^2``, minus
   ``entropy_coef x entropy``; gradients clipped to ``max_grad_norm``.
4. **Evaluate** every ``eval_every`` iterations: greedy runs on held-out seeds of every scenario, beside the
   best heuristic of the set, ``srpt_eft``; the network with the lowest mean latency ratio to it is kept
   (``best.pt``).

PPO starts from a checkpoint (the shipped one by default, or one from ``soc-emu train``'s imitation
phase); a value head is added when the checkpoint has none. One seed fixes the run: its episodes, its
sampling and the fresh value head's weights (from the run's own ``torch.Generator``).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.guards import require_finite_step
from agents.model import DeepSoCSNet
from agents.policy import log_probs
from agents.rollout import LATENCY_SCALE_US, Episode, RolloutJob, run_job
from agents.seeding import seed_generator, seeded_network
from soc_emu.engine.options import FailureModel
from soc_emu.engine.simulation import RunOptions
from soc_emu.errors import SocEmuError
from soc_emu.model.platform import Platform
from soc_emu.study.backends import Backend, make_backend

#: PE failures of a scenario with ``failures`` (as ``soc-emu compare``'s failures scenario).
FAILURE_MTBF_US = 20_000.0
FAILURE_REPAIR_US = 2_000.0
PPO_LOG_FIELDS = ("iteration", "elapsed_s", "scenario", "rate_jobs_per_ms", "rollout_latency_us", "policy_loss",
                  "value_loss", "entropy", "clip_fraction", "eval_ratio", "eval_detail")


@dataclass(frozen=True)
class Scenario:
    """A family of training episodes: a platform and workload, an arrival-rate range, noise, failures."""

    platform: str
    workload: str
    rate_min: float
    rate_max: float
    noise_max: float = 0.3
    failures: bool = False  #: every PE fails (MTBF 20 ms, mean repair 2 ms)
    #: each training episode runs on its own random variation of ``platform`` (evaluations on ``platform``)
    random_platforms: bool = False

    @property
    def name(self) -> str:
        return f"{self.platform}{'~random' if self.random_platforms else ''}/{self.workload}{'+failures' if self.failures else ''}"

    def episode_platform(self, seed: int) -> str | Platform:
        """The platform of a training episode with seed ``seed`` (see ``random_platforms``)."""
        from soc_emu.workloads.random_platform import seeded_variation

        return seeded_variation(self.platform, seed) if self.random_platforms else self.platform


@dataclass
class PPOConfig:
    """Everything a PPO run depends on (saved in its checkpoints)."""

    scenarios: tuple[Scenario, ...] = (Scenario("hetero", "ds3_mix", 50.0, 90.0),)
    init_checkpoint: str | None = None  #: None: the shipped checkpoint
    seed: int = 0
    iterations: int = 100
    episodes_per_iteration: int = 4
    jobs_per_episode: int = 100
    workers: int = 2
    lr: float = 1e-4
    gamma: float = 1.0
    gae_lambda: float = 0.95
    clip: float = 0.2
    update_epochs: int = 3
    minibatch_steps: int = 512
    value_coef: float = 0.5
    entropy_coef: float = 0.002
    max_grad_norm: float = 0.5
    sigma: float = 0.1  #: std-dev of the sampled queue priority
    value_warmup_epochs: int = 4  #: value-only epochs on the first batch (a fresh value head)
    energy_weight: float = 0.0  #: us of latency per uJ of energy in the reward
    eval_every: int = 5
    eval_seeds: tuple[int, ...] = (90001, 90002)
    eval_jobs: int = 150
    time_budget_s: float | None = None

    def validate(self) -> None:
        checks = [
            (len(self.scenarios) >= 1, "--platform", "at least one training scenario is needed"),
            (self.iterations >= 0, "--rl-iterations", "must be >= 0"),
            (self.episodes_per_iteration >= 1, "--rollouts", "must be >= 1"),
            (self.jobs_per_episode >= 1, "--jobs-per-episode", "must be >= 1"),
            (self.workers >= 1, "--workers", "must be >= 1"),
            (self.energy_weight >= 0, "--energy-weight", "must be >= 0"),
            (self.time_budget_s is None or self.time_budget_s > 0, "--time-budget", "must be > 0"),
            (all(0 < s.rate_min <= s.rate_max for s in self.scenarios), "--rate-min", "need 0 < rate_min <= rate_max"),
        ]
        for ok, source, msg in checks:
            if not ok:
                raise SocEmuError(msg, source=source)


@dataclass
class PPOResult:
    """What a PPO run produced."""

    best: Path
    log: Path
    best_ratio: float | None
    elapsed_s: float
    history: list[dict[str, Any]] = field(default_factory=list)


def gae(rewards: np.ndarray, values: np.ndarray, gamma: float, lam: float) -> np.ndarray:
    """Generalised advantage estimates of one finished episode (the value after the last step is 0)."""
    adv = np.zeros_like(rewards)
    last = 0.0
    for k in range(len(rewards) - 1, -1, -1):
        next_value = values[k + 1] if k + 1 < len(values) else 0.0
        delta = rewards[k] + gamma * next_value - values[k]
        last = delta + gamma * lam * last
        adv[k] = last
    return adv


def step_rewards(episode: Episode) -> np.ndarray:
    """Per step, the reward until the next step (see the module docstring); they sum to the return."""
    phi = np.append(np.asarray(episode.areas, dtype=np.float64), episode.total_latency)
    return -np.diff(phi) / (max(episode.jobs, 1) * LATENCY_SCALE_US)


def _with_value_head(net: DeepSoCSNet, generator: torch.Generator) -> DeepSoCSNet:
    """``net`` itself if it has a value head, else a copy with a freshly initialised one (from ``generator``)."""
    if net.value_head is not None:
        return net
    bigger = seeded_network(replace(net.config, value_head=True), generator)
    bigger.load_state_dict(net.state_dict(), strict=False)
    return bigger


def _failures(scenario: Scenario) -> FailureModel | None:
    return FailureModel(mtbf_us=FAILURE_MTBF_US, repair_us=FAILURE_REPAIR_US) if scenario.failures else None


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def evaluate(backend: Backend, net: DeepSoCSNet | None, rule, scenarios: tuple[Scenario, ...],  # type: ignore[no-untyped-def]
             seeds: tuple[int, ...], jobs: int, mode: str = "greedy") -> dict[str, float]:
    """Mean latency per scenario (at its top rate, noise 0.3 if it has noise) over ``seeds``."""
    batch = []
    for sc in scenarios:
        for seed in seeds:
            options = RunOptions(seed=seed, num_jobs=jobs, noise_rsd=min(sc.noise_max, 0.3), failures=_failures(sc))
            batch.append(RolloutJob(sc.platform, sc.workload, sc.rate_max, options, rule,
                                    model=None if net is None else net.config,
                                    weights=None if net is None else {k: v.detach().clone() for k, v in net.state_dict().items()},
                                    mode=mode))
    eps = backend.map(run_job, batch)
    out = {}
    for i, sc in enumerate(scenarios):
        chunk = eps[i * len(seeds) : (i + 1) * len(seeds)]
        out[sc.name] = float(np.mean([e.mean_latency_us for e in chunk]))
    return out


def train_ppo(config: PPOConfig, out_dir: str | Path, *, say: Callable[[str], None] = lambda msg: None,
              backend: Backend | None = None) -> PPOResult:
    """Run PPO (see the module docstring); writes ``ppo_log.csv``, ``checkpoint.pt`` and ``best.pt``. ``backend``
    runs the episodes (default: the local backend with ``config.workers`` processes)."""
    config.validate()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "ppo_log.csv"
    log_path.unlink(missing_ok=True)
    t0 = time.monotonic()
    loaded = load_checkpoint(config.init_checkpoint, source="--finetune" if config.init_checkpoint else "")
    rule = loaded.rule
    net = _with_value_head(loaded.net, seed_generator(config.seed))
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    assert net.value_head is not None
    value_optimizer = torch.optim.Adam(net.value_head.parameters(), lr=1e-3)  # warm-up of a fresh value head only
    rng = np.random.default_rng([config.seed, 11])
    history: list[dict[str, Any]] = []
    info = {"algorithm": "ppo", "ppo_config": _plain(asdict(config)), "trained_from": loaded.path}

    def log_row(row: dict[str, Any]) -> None:
        row = {k: row.get(k, "") for k in PPO_LOG_FIELDS} | {"elapsed_s": round(time.monotonic() - t0, 1)}
        new = not log_path.exists()
        with open(log_path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=PPO_LOG_FIELDS)
            if new:
                writer.writeheader()
            writer.writerow(row)
        history.append(row)

    backend = backend or make_backend("local", workers=config.workers)
    with backend:  # the workers stay up for the whole run
        heuristic = evaluate(backend, None, rule, config.scenarios, config.eval_seeds, config.eval_jobs, mode="expert")
        start = evaluate(backend, net, rule, config.scenarios, config.eval_seeds, config.eval_jobs)
        best_ratio = float(np.mean([start[k] / heuristic[k] for k in heuristic]))
        say(f"srpt_eft {_fmt(heuristic)}; start {_fmt(start)} (ratio {best_ratio:.4f})")
        log_row({"iteration": 0, "eval_ratio": round(best_ratio, 5), "eval_detail": _fmt(start)})
        save_checkpoint(out / "best.pt", net, rule, info=info | {"eval_ratio": best_ratio, "heuristic_us": heuristic})

        for iteration in range(1, config.iterations + 1):
            if config.time_budget_s is not None and time.monotonic() - t0 > config.time_budget_s:
                say(f"time budget reached after {iteration - 1} iterations")
                break
            # 1. Collect episodes of the current policy on one drawn scenario.
            sc = config.scenarios[int(rng.integers(len(config.scenarios)))]
            rate = float(rng.uniform(sc.rate_min, sc.rate_max))
            weights = {k: v.detach().clone() for k, v in net.state_dict().items()}
            jobs = []
            for e in range(config.episodes_per_iteration):
                seed = _seed(config.seed, iteration, e)
                noise = float(np.random.default_rng([seed, 17]).uniform(0.0, sc.noise_max)) if sc.noise_max > 0 else 0.0
                options = RunOptions(seed=seed, num_jobs=config.jobs_per_episode, noise_rsd=noise, failures=_failures(sc))
                jobs.append(RolloutJob(sc.episode_platform(seed), sc.workload, rate, options, rule, model=net.config, weights=weights,
                                       mode="sample", sigma=config.sigma, policy_seed=_seed(config.seed, iteration, e, 1),
                                       energy_weight=config.energy_weight))
            episodes = [ep for ep in backend.map(run_job, jobs) if ep.steps]
            steps = [s for ep in episodes for s in ep.steps]
            if not steps:
                continue

            # 2. Old log-probabilities and values (the weights the workers acted with), GAE advantages.
            with torch.no_grad():
                old = [log_probs(net, steps[i : i + config.minibatch_steps]) for i in range(0, len(steps), config.minibatch_steps)]
            old_logp = torch.cat([o.logp for o in old])
            old_value = torch.cat([o.value for o in old]).numpy().astype(np.float64)  # type: ignore[union-attr]
            advantages, returns = [], []
            k = 0
            for ep in episodes:
                n = len(ep.steps)
                adv = gae(step_rewards(ep), old_value[k : k + n], config.gamma, config.gae_lambda)
                advantages.append(adv)
                returns.append(adv + old_value[k : k + n])
                k += n
            adv_t = torch.tensor(np.concatenate(advantages), dtype=torch.float32)
            ret_t = torch.tensor(np.concatenate(returns), dtype=torch.float32)

            # 3. Clipped PPO update (a fresh value head first learns the values alone).
            net.train()
            warmup = config.value_warmup_epochs if iteration == 1 and loaded.net.value_head is None else 0
            stats = {"policy_loss": [], "value_loss": [], "entropy": [], "clip_fraction": []}
            for epoch in range(warmup + config.update_epochs):
                value_only = epoch < warmup
                order = torch.randperm(len(steps), generator=torch.Generator().manual_seed(_seed(config.seed, iteration, epoch) % 2**31))
                for idx in order.split(config.minibatch_steps):
                    out_mb = log_probs(net, [steps[i] for i in idx.tolist()])
                    assert out_mb.value is not None
                    value_loss = torch.mean((out_mb.value - ret_t[idx]) ** 2)
                    if value_only:
                        loss = value_loss
                    else:
                        a = adv_t[idx]
                        a = (a - a.mean()) / (a.std() + 1e-8) if len(idx) > 1 else a
                        ratio = torch.exp(out_mb.logp - old_logp[idx])
                        policy_loss = -torch.min(ratio * a, torch.clamp(ratio, 1 - config.clip, 1 + config.clip) * a).mean()
                        entropy = out_mb.entropy.mean()
                        loss = policy_loss + config.value_coef * value_loss - config.entropy_coef * entropy
                        stats["policy_loss"].append(policy_loss.item())
                        stats["entropy"].append(entropy.item())
                        stats["clip_fraction"].append(float(((ratio - 1).abs() > config.clip).float().mean()))
                    stats["value_loss"].append(value_loss.item())
                    opt = value_optimizer if value_only else optimizer
                    opt.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(net.parameters(), config.max_grad_norm)
                    opt.step()
                    require_finite_step(loss.item(), net, f"PPO iteration {iteration}")
            net.eval()
            row: dict[str, Any] = {"iteration": iteration, "scenario": sc.name, "rate_jobs_per_ms": round(rate, 2),
                                   "rollout_latency_us": round(float(np.mean([ep.mean_latency_us for ep in episodes])), 3)}
            row |= {key: round(float(np.mean(v)), 5) for key, v in stats.items() if v}

            # 4. Greedy evaluation beside the heuristic; keep the best network.
            if iteration % config.eval_every == 0:
                lat = evaluate(backend, net, rule, config.scenarios, config.eval_seeds, config.eval_jobs)
                ratio = float(np.mean([lat[k] / heuristic[k] for k in heuristic]))
                row |= {"eval_ratio": round(ratio, 5), "eval_detail": _fmt(lat)}
                say(f"iteration {iteration}: eval {_fmt(lat)} ratio to srpt_eft {ratio:.4f} (best {min(ratio, best_ratio):.4f})")
                if ratio < best_ratio:
                    best_ratio = ratio
                    save_checkpoint(out / "best.pt", net, rule, info=info | {"eval_ratio": ratio, "iteration": iteration,
                                                                              "heuristic_us": heuristic})
            log_row(row)
            save_checkpoint(out / "checkpoint.pt", net, rule, info=info | {"iteration": iteration})
    return PPOResult(best=out / "best.pt", log=log_path, best_ratio=best_ratio, elapsed_s=time.monotonic() - t0, history=history)


def _fmt(latencies: dict[str, float]) -> str:
    return "; ".join(f"{k} {v:.1f} us" for k, v in latencies.items())


def _plain(value: Any) -> Any:
    """Tuples and dataclasses as lists and dicts (checkpoints hold plain data only)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
