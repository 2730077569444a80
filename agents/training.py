"""Training of the learned scheduler: imitation warm start (DAgger on the expert), then policy gradient.

Phase 1, imitation
    Episodes run by the expert, the registered ``srpt_eft`` heuristic (labels via :mod:`agents.expert`), then ``dagger_rounds`` rounds of: fit the network
    to every labelled step so far (cross-entropy on the task, squared error on the priority), run the
    current policy and label the states it visits with the expert's choices.
Phase 2, reinforcement learning (REINFORCE with Decima's input-dependent baseline)
    Each iteration draws an arrival rate from a curriculum that widens towards high load, runs
    ``rollouts`` sampled episodes on the *same* arrival sequence on a study backend (local worker processes
    or Ray tasks, :mod:`soc_emu.study.backends`: ``backend.map(run_job, jobs)``, one
    :class:`~agents.rollout.RolloutJob` value each), and uses the
    mean return-to-go of those rollouts at the same time as the baseline. The loss is
    ``-(log pi(a) x advantage) - entropy_weight x entropy``; the entropy weight and the priority noise
    decay linearly. A greedy evaluation on held-out seeds runs every ``eval_every`` iterations; the best
    network is kept.

Outputs in ``out_dir``: ``train_log.csv`` (one row per imitation round / RL iteration), ``checkpoint.pt``
(latest, with the trainer state ``--resume`` needs) and ``best.pt`` (best evaluation). Checkpoints are
written atomically. One seed fixes the whole run (episode seeds, policy sampling, and weight init from the
run's own ``torch.Generator``, never torch's global one); the backend and its worker count do not change
the result. ``--resume`` continues the RL phase exactly where the last
checkpoint left it (same result as an uninterrupted run); a run interrupted during imitation keeps its
finished rounds but rebuilds the labelled data set from new expert episodes.

PPO with GAE and a value head, from a checkpoint this trainer wrote (or the shipped one), is
:mod:`agents.ppo` (``soc-emu train --finetune``).
"""

from __future__ import annotations

import csv
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.features import DecisionRule
from agents.guards import require_finite_step
from agents.model import DeepSoCSNet, ModelConfig
from agents.policy import Step, imitation_outputs, log_probs
from agents.rollout import RolloutJob, input_dependent_baseline, run_job
from agents.seeding import seed_generator, seeded_network
from soc_emu.model.platform import Platform
from soc_emu.engine.simulation import RunOptions
from soc_emu.engine.view import Binding
from soc_emu.errors import SocEmuError
from soc_emu.study.backends import Backend, make_backend

LOG_FIELDS = (
    "phase",
    "iteration",
    "elapsed_s",
    "rate_jobs_per_ms",
    "mean_return",
    "rollout_latency_us",
    "eval_latency_us",
    "expert_eval_latency_us",
    "loss",
    "entropy",
    "entropy_weight",
    "accuracy",
    "steps",
)


@dataclass
class TrainConfig:
    """Everything a training run depends on (saved in the checkpoint)."""

    platform: str = "hetero"
    workload: str = "ds3_mix"
    seed: int = 0
    jobs_per_episode: int = 100
    rate_min: float = 20.0  #: curriculum: lowest arrival rate (jobs/ms)
    rate_max: float = 90.0  #: curriculum: highest arrival rate reached at the end
    noise_max: float = 0.3  #: each training episode draws its execution-time noise uniformly in [0, noise_max]
    expert_episodes: int = 12
    dagger_rounds: int = 3
    dagger_episodes: int = 6
    imitation_epochs: int = 4
    imitation_priority_weight: float = 1.0
    rl_iterations: int = 300
    rollouts: int = 4
    workers: int = 2
    lr_imitation: float = 3e-3
    lr_rl: float = 3e-4
    entropy_start: float = 0.02
    entropy_end: float = 0.001
    sigma_start: float = 0.3
    sigma_end: float = 0.1
    batch_steps: int = 512
    eval_every: int = 10
    eval_seeds: tuple[int, ...] = (90001, 90002)
    eval_rates: tuple[float, ...] = (25.0, 70.0, 90.0)
    eval_jobs: int = 100
    time_budget_s: float | None = None
    hidden: int = 32
    embed: int = 16
    mp_steps: int = 3
    pe_head: bool = False
    #: draw every training episode's platform around ``platform`` (:mod:`soc_emu.workloads.random_platform`);
    #: evaluations stay on ``platform`` itself
    random_platforms: bool = False

    def validate(self) -> None:
        checks = [
            (self.jobs_per_episode >= 1, "jobs_per_episode", "must be >= 1"),
            (0 < self.rate_min <= self.rate_max, "rate", "need 0 < rate_min <= rate_max"),
            (self.rollouts >= 1, "rollouts", "must be >= 1"),
            (self.workers >= 1, "workers", "must be >= 1"),
            (self.rl_iterations >= 0 and self.dagger_rounds >= 0, "iterations", "must be >= 0"),
            (self.expert_episodes >= 1, "expert_episodes", "must be >= 1"),
            (self.eval_every >= 1, "eval_every", "must be >= 1"),
            (self.eval_jobs >= 1, "eval_jobs", "must be >= 1"),
            (len(self.eval_rates) >= 1 and len(self.eval_seeds) >= 1, "eval_rates", "needs at least one rate and seed"),
        ]
        for ok, name, msg in checks:
            if not ok:
                raise SocEmuError(msg, source=f"--{name.replace('_', '-')}")


# ---------------------------------------------------------------------------------------------- helpers


def _state(net: DeepSoCSNet) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _chunks(items: list, size: int) -> Iterator[list]:  # type: ignore[type-arg]
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _episode_seed(base: int, *parts: int) -> int:
    """A deterministic seed for an episode from the run seed and its coordinates."""
    return int(np.random.SeedSequence([base, *parts]).generate_state(1)[0])


class _Progress:
    """A tqdm bar when stderr is a terminal (and asked for), else nothing."""

    def __init__(self, total: int, enabled: bool, desc: str) -> None:
        self.bar = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="it", leave=True)

    def update(self, n: int = 1, **postfix: Any) -> None:
        if self.bar is not None:
            if postfix:
                self.bar.set_postfix({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in postfix.items()})
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------------------------------- trainer


@dataclass
class TrainResult:
    """What a training run produced."""

    checkpoint: Path
    best: Path
    log: Path
    best_eval_latency_us: float | None
    expert_eval_latency_us: float | None
    elapsed_s: float
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """Runs :class:`TrainConfig` (see the module docstring). ``progress`` shows a tqdm bar on a TTY.
    ``backend`` runs the episodes (default: the local backend with ``config.workers`` processes)."""

    def __init__(self, config: TrainConfig, out_dir: str | os.PathLike[str], *, progress: bool = True,
                 log: Callable[[str], None] | None = None, backend: Backend | None = None) -> None:
        config.validate()
        self.config = config
        self.out = Path(out_dir)
        self.progress = progress
        self.say = log or (lambda msg: None)
        self.rule = DecisionRule(Binding.ON_READY)
        model_cfg = ModelConfig(hidden=config.hidden, embed=config.embed, mp_steps=config.mp_steps, pe_head=config.pe_head)
        self.backend = backend
        self.generator = seed_generator(config.seed)
        self.net = seeded_network(model_cfg, self.generator)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=config.lr_imitation)
        self.phase = "imitation"
        self.iteration = 0  # imitation rounds done, then RL iterations done
        self.best_eval: float | None = None
        self.expert_eval: float | None = None
        self.elapsed_before = 0.0
        self.history: list[dict[str, Any]] = []
        self.dataset: list[tuple[Step, int, float]] = []

    # -- checkpoints ------------------------------------------------------------------------------
    def _info(self) -> dict[str, Any]:
        cfg = asdict(self.config)
        cfg["eval_seeds"] = list(cfg["eval_seeds"])
        cfg["eval_rates"] = list(cfg["eval_rates"])
        return {
            "platform": self.config.platform,
            "workload": self.config.workload,
            "train_config": cfg,
            "phase": self.phase,
            "iteration": self.iteration,
            "best_eval_latency_us": self.best_eval,
            "expert_eval_latency_us": self.expert_eval,
            "elapsed_s": self._elapsed(),
        }

    def _elapsed(self) -> float:
        return self.elapsed_before + (time.monotonic() - self._t0)

    def _save(self, best: bool = False) -> None:
        trainer = {
            "phase": self.phase,
            "iteration": self.iteration,
            "optimizer": self.opt.state_dict(),
            "best_eval": self.best_eval,
            "expert_eval": self.expert_eval,
            "elapsed_s": self._elapsed(),
            "torch_rng": self.generator.get_state(),
            "seed": self.config.seed,
        }
        save_checkpoint(self.out / "checkpoint.pt", self.net, self.rule, info=self._info(), trainer=trainer)
        if best:
            save_checkpoint(self.out / "best.pt", self.net, self.rule, info=self._info())

    def _resume(self) -> None:
        path = self.out / "checkpoint.pt"
        loaded = load_checkpoint(path, source="--resume")
        if loaded.trainer is None:
            raise SocEmuError("the checkpoint holds no trainer state (was it written by `soc-emu train`?)", source=f"--resume {path}")
        if loaded.net.config != self.net.config:
            raise SocEmuError("the checkpoint's model sizes differ from the requested ones", source=f"--resume {path}")
        t = loaded.trainer
        self.net.load_state_dict(loaded.net.state_dict())
        self.phase = t["phase"]
        self.iteration = int(t["iteration"])
        if self.phase == "rl":
            self.opt = torch.optim.Adam(self.net.parameters(), lr=self.config.lr_rl)
        self.opt.load_state_dict(t["optimizer"])
        self.best_eval = t["best_eval"]
        self.expert_eval = t["expert_eval"]
        self.elapsed_before = float(t["elapsed_s"])
        self.generator.set_state(t["torch_rng"])
        self.say(f"resumed from {path}: phase {self.phase}, iteration {self.iteration}")

    # -- logging ----------------------------------------------------------------------------------
    def _log_row(self, row: dict[str, Any]) -> None:
        row = {k: row.get(k, "") for k in LOG_FIELDS}
        row["elapsed_s"] = round(self._elapsed(), 2)
        path = self.out / "train_log.csv"
        new = not path.exists()
        with open(path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=LOG_FIELDS)
            if new:
                writer.writeheader()
            writer.writerow(row)
        self.history.append(row)

    # -- episodes ---------------------------------------------------------------------------------
    def _rate(self, progress: float, rng: np.random.Generator) -> float:
        """Curriculum: rates drawn uniformly from [rate_min, rate_min + progress x (rate_max - rate_min)]."""
        c = self.config
        hi = c.rate_min + max(0.0, min(1.0, progress)) * (c.rate_max - c.rate_min)
        return float(rng.uniform(c.rate_min, hi)) if hi > c.rate_min else c.rate_min

    def _options(self, seed: int, jobs: int | None = None, noise: float = 0.0) -> RunOptions:
        return RunOptions(seed=seed, num_jobs=jobs or self.config.jobs_per_episode, noise_rsd=noise)

    def _noise(self, seed: int) -> float:
        """The noise of a training episode (uniform in [0, noise_max], from the episode's seed)."""
        if self.config.noise_max <= 0:
            return 0.0
        return float(np.random.default_rng([seed, 17]).uniform(0.0, self.config.noise_max))

    def _platform(self, seed: int, evaluation: bool) -> str | Platform:
        """The platform of an episode: with ``random_platforms``, a training episode's own random variation."""
        from soc_emu.workloads.random_platform import seeded_variation

        if evaluation or not self.config.random_platforms:
            return self.config.platform
        return seeded_variation(self.config.platform, seed)

    def _task(self, rate: float, seed: int, mode: str, sigma: float, label: bool, policy_seed: int, jobs: int | None = None,
              evaluation: bool = False) -> RolloutJob:
        expert = mode == "expert"
        noise = 0.0 if evaluation else self._noise(seed)
        return RolloutJob(
            platform=self._platform(seed, evaluation),
            workload=self.config.workload,
            rate_jobs_per_ms=rate,
            options=self._options(seed, jobs, noise),
            rule=self.rule,
            model=self.net.config,  # the expert acts without weights, but its steps need the network's features
            weights=None if expert else _state(self.net),
            mode=mode,
            sigma=sigma,
            label=label,
            policy_seed=policy_seed,
        )

    def _evaluate(self, backend: Backend, mode: str = "greedy") -> float:
        c = self.config
        tasks = [
            self._task(rate, seed, mode, 0.0, False, 0, jobs=c.eval_jobs, evaluation=True)
            for rate in c.eval_rates
            for seed in c.eval_seeds
        ]
        eps = backend.map(run_job, tasks)
        return float(np.mean([e.mean_latency_us for e in eps]))

    # -- imitation --------------------------------------------------------------------------------
    def _fit(self, epochs: int) -> tuple[float, float]:
        """Supervised epochs over the labelled steps: cross-entropy on the expert's task (and PE with a PE
        head), squared error on its priority. Returns mean loss and task accuracy."""
        c = self.config
        gen = torch.Generator().manual_seed(c.seed + 7 * self.iteration)
        losses = []
        accs = []
        self.net.train()
        for _ in range(epochs):
            order = torch.randperm(len(self.dataset), generator=gen).tolist()
            for chunk in _chunks(order, 256):
                items = [self.dataset[i] for i in chunk]
                obs = [s.obs for s, _, _ in items]
                target = torch.tensor([a for _, a, _ in items], dtype=torch.int64)
                logits, mean, pe_logits, pe_target = imitation_outputs(self.net, obs, target.tolist())
                loss = torch.nn.functional.cross_entropy(logits, target)
                prio = torch.tensor([p for _, _, p in items], dtype=mean.dtype)
                loss = loss + c.imitation_priority_weight * torch.mean((mean - prio) ** 2)
                if pe_logits is not None:
                    loss = loss + torch.nn.functional.cross_entropy(pe_logits, pe_target)
                self.opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.net.parameters(), 5.0)
                self.opt.step()
                require_finite_step(loss.item(), self.net, f"imitation round {self.iteration}")
                losses.append(loss.item())
                accs.append(float((logits.argmax(dim=1) == target).float().mean()))
        self.net.eval()
        return float(np.mean(losses)) if losses else 0.0, float(np.mean(accs)) if accs else 0.0

    def _imitation(self, backend: Backend, bar: _Progress) -> None:
        c = self.config
        rng = np.random.default_rng([c.seed, 1])
        if not self.dataset:
            tasks = []
            for i in range(c.expert_episodes):
                rate = self._rate(1.0, rng)
                tasks.append(self._task(rate, _episode_seed(c.seed, 1, i), "expert", 0.0, False, 0))
            for ep in backend.map(run_job, tasks):
                self.dataset.extend((s, s.action, s.priority) for s in ep.steps)
        while self.iteration <= c.dagger_rounds:
            loss, acc = self._fit(c.imitation_epochs)
            rollout_latency = ""
            if self.iteration < c.dagger_rounds:
                tasks = []
                for i in range(c.dagger_episodes):
                    rate = self._rate(1.0, rng)
                    tasks.append(self._task(rate, _episode_seed(c.seed, 2, self.iteration, i), "sample", c.sigma_start, True, i))
                eps = backend.map(run_job, tasks)
                for ep in eps:
                    self.dataset.extend(zip(ep.steps, ep.expert_actions, ep.expert_priorities))
                rollout_latency = float(np.mean([e.mean_latency_us for e in eps]))
            self.iteration += 1
            row = {"phase": "imitation", "iteration": self.iteration, "loss": round(loss, 5),
                   "accuracy": round(acc, 4), "rollout_latency_us": rollout_latency, "steps": len(self.dataset)}
            self._log_row(row)
            self.say(f"imitation round {self.iteration}: loss {loss:.4f}, accuracy {acc:.3f}, {len(self.dataset)} labelled steps")
            bar.update(1, loss=loss, acc=acc)
            self._save()
        self.dataset = []
        self.phase = "rl"
        self.iteration = 0
        self.opt = torch.optim.Adam(self.net.parameters(), lr=c.lr_rl)
        ev = self._evaluate(backend)
        self.best_eval = ev
        self._log_row({"phase": "imitation", "iteration": "eval", "eval_latency_us": round(ev, 3),
                       "expert_eval_latency_us": self.expert_eval})
        self.say(f"after imitation: greedy eval latency {ev:.2f} us (expert {self.expert_eval:.2f} us)")
        self._save(best=True)

    # -- reinforcement learning -------------------------------------------------------------------
    def _rl_iteration(self, backend: Backend) -> dict[str, Any]:
        c = self.config
        k = self.iteration
        frac = k / max(c.rl_iterations - 1, 1)
        entropy_w = c.entropy_start + (c.entropy_end - c.entropy_start) * frac
        sigma = c.sigma_start + (c.sigma_end - c.sigma_start) * frac
        rng = np.random.default_rng([c.seed, 3, k])
        rate = self._rate(0.3 + 0.7 * frac, rng)
        seed = _episode_seed(c.seed, 3, k)
        tasks = [self._task(rate, seed, "sample", sigma, False, _episode_seed(c.seed, 4, k, r)) for r in range(c.rollouts)]
        eps = backend.map(run_job, tasks)
        baselines = input_dependent_baseline(eps)
        steps: list[Step] = []
        advs: list[float] = []
        for ep, b in zip(eps, baselines):
            adv = ep.returns_to_go() - b
            steps.extend(ep.steps)
            advs.extend(adv.tolist())
        adv_t = torch.tensor(advs, dtype=torch.float32)
        scale = float(adv_t.std()) if len(advs) > 1 else 1.0
        adv_t = adv_t / (scale + 1e-8)
        self.net.train()
        self.opt.zero_grad()
        total_loss = 0.0
        total_ent = 0.0
        n = len(steps)
        for idx in _chunks(list(range(n)), c.batch_steps):
            logp, ent, _, _ = log_probs(self.net, [steps[i] for i in idx])
            a = adv_t[idx]
            loss = -(logp * a).sum() / n - entropy_w * ent.sum() / n
            loss.backward()
            total_loss += loss.item()
            total_ent += ent.detach().sum().item()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
        self.opt.step()
        require_finite_step(total_loss, self.net, f"RL iteration {self.iteration + 1}")
        self.net.eval()
        self.iteration += 1
        return {
            "phase": "rl",
            "iteration": self.iteration,
            "rate_jobs_per_ms": round(rate, 2),
            "mean_return": round(float(np.mean([e.returns_to_go()[0] if e.steps else 0.0 for e in eps])), 5),
            "rollout_latency_us": round(float(np.mean([e.mean_latency_us for e in eps])), 3),
            "loss": round(total_loss, 6),
            "entropy": round(total_ent / max(n, 1), 5),
            "entropy_weight": round(entropy_w, 5),
            "steps": n,
        }

    # -- run --------------------------------------------------------------------------------------
    def run(self, *, resume: bool = False) -> TrainResult:
        c = self.config
        self._t0 = time.monotonic()
        self.out.mkdir(parents=True, exist_ok=True)
        if resume:
            self._resume()
        elif (self.out / "train_log.csv").exists():
            (self.out / "train_log.csv").unlink()
        backend = self.backend or make_backend("local", workers=c.workers)
        total = (c.dagger_rounds + 1) + c.rl_iterations
        done = self.iteration if self.phase == "imitation" else (c.dagger_rounds + 1) + self.iteration
        bar = _Progress(total, self.progress, "train")
        bar.update(done)
        try:
            with backend:  # the workers stay up for the whole run
                if self.expert_eval is None:
                    self.expert_eval = self._evaluate(backend, mode="expert")
                    self.say(f"expert greedy eval latency: {self.expert_eval:.2f} us")
                if self.phase == "imitation":
                    self._imitation(backend, bar)
                while self.iteration < c.rl_iterations:
                    if c.time_budget_s is not None and self._elapsed() > c.time_budget_s:
                        self.say(f"time budget of {c.time_budget_s:.0f} s reached after {self.iteration} RL iterations")
                        break
                    row = self._rl_iteration(backend)
                    improved = False
                    if self.iteration % c.eval_every == 0 or self.iteration == c.rl_iterations:
                        ev = self._evaluate(backend)
                        row["eval_latency_us"] = round(ev, 3)
                        row["expert_eval_latency_us"] = round(self.expert_eval, 3)
                        if self.best_eval is None or ev < self.best_eval:
                            self.best_eval = ev
                            improved = True
                        self.say(f"RL iteration {self.iteration}: eval latency {ev:.2f} us (best {self.best_eval:.2f})")
                    self._log_row(row)
                    bar.update(1, lat=row["rollout_latency_us"], ev=self.best_eval or 0.0)
                    self._save(best=improved)
        finally:
            bar.close()
        self._save(best=not (self.out / "best.pt").exists())
        return TrainResult(
            checkpoint=self.out / "checkpoint.pt",
            best=self.out / "best.pt",
            log=self.out / "train_log.csv",
            best_eval_latency_us=self.best_eval,
            expert_eval_latency_us=self.expert_eval,
            elapsed_s=self._elapsed(),
            history=self.history,
        )
