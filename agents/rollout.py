"""Episodes for training and evaluation: drive the engine with the policy (or the expert) and record steps.

The reward is the average-latency objective spread over decisions. With
``Phi(t) = sum of finished jobs' latencies + sum over jobs in the system of (t - admission)`` (the area
under "jobs in the system" up to ``t``), the reward of a step is ``-(Phi(t_next) - Phi(t)) / scale``;
over a whole episode the rewards sum to ``-(total job latency) / scale``, with ``scale = jobs x
LATENCY_SCALE_US``, i.e. minus the mean job latency in units of ``LATENCY_SCALE_US``. With an energy weight
``w`` (us per uJ), ``Phi`` also counts ``w x`` the energy spent so far (:class:`EnergyMeter`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from agents.expert import Expert
from agents.features import DecisionRule, Featurizer, Observation
from agents.model import DeepSoCSNet, ModelConfig
from agents.policy import Policy, Step
from soc_emu.engine.records import JobRecord, TaskRecord
from soc_emu.engine.simulation import RunOptions, Simulation, decision_points
from soc_emu.engine.view import SystemView
from soc_emu.model.platform import Platform
from soc_emu.model.workload import Workload

#: Latency unit of rewards and returns (us).
LATENCY_SCALE_US = 100.0


class EnergyMeter:
    """Observer: the energy the schedule controls, ``(active - idle power) x busy slot time`` summed over the
    executions (uJ, since W x us = uJ), with the engine's fixed per-PE powers.

    Idle power over the whole run does not depend on the schedule beyond the run's length, so only the
    busy part is counted. Swap :meth:`task_energy_uj` for a richer power model (DVFS, thermal).
    """

    def __init__(self, platform: Platform) -> None:
        self.extra_power_w = [pe.active_power_w - pe.idle_power_w for pe in platform.pes]
        self.energy_uj = 0.0

    def task_energy_uj(self, record: TaskRecord) -> float:
        """Energy above idle of one execution (killed ones included: the work was spent)."""
        start = record.start_us
        if start != start:  # never started (held a slot awaiting inputs)
            return 0.0
        return self.extra_power_w[record.pe] * (record.finish_us - start)

    def on_task(self, record: TaskRecord) -> None:
        self.energy_uj += self.task_energy_uj(record)


class LatencyArea:
    """Observer + helper computing ``Phi(t)`` (see the module docstring) at decision points."""

    def __init__(self) -> None:
        self.finished_latency = 0.0
        self.jobs_finished = 0
        self.latencies: list[float] = []

    def on_job(self, record: JobRecord) -> None:
        if not record.dropped:
            self.finished_latency += record.latency_us
            self.jobs_finished += 1
            self.latencies.append(record.latency_us)

    def area(self, view: SystemView) -> float:
        """``Phi(view.now)``."""
        now = view.now
        return self.finished_latency + sum(now - job.admitted_us for job in view.jobs.values())


@dataclass
class Episode:
    """One recorded run: its steps, their area values, and the outcome."""

    steps: list[Step] = field(default_factory=list)
    areas: list[float] = field(default_factory=list)  #: Phi at each step
    expert_actions: list[int] = field(default_factory=list)  #: the expert's label per step (imitation)
    expert_priorities: list[float] = field(default_factory=list)
    total_latency: float = 0.0  #: sum of job latencies (+ energy weight x energy): minus the episode's return x scale
    energy_weight: float = 0.0
    energy_uj: float = 0.0
    jobs: int = 0
    mean_latency_us: float = 0.0
    p95_latency_us: float = 0.0

    def returns_to_go(self) -> np.ndarray:
        """Per step: the sum of the rewards from it to the end of the episode."""
        norm = max(self.jobs, 1) * LATENCY_SCALE_US
        return -(self.total_latency - np.asarray(self.areas)) / norm

    def times(self) -> np.ndarray:
        return np.array([s.time_us for s in self.steps])


def agent_decisions(sim: Simulation, featurizer: Featurizer) -> Iterator[tuple[SystemView, Observation]]:
    """The engine's decision loop (:func:`~soc_emu.engine.simulation.decision_points`, the one
    :func:`~soc_emu.engine.simulation.simulate` uses) seen by the agent: ``(view, observation)`` at every
    decision point that offers the agent a task. Shared by :func:`run_episode` and the gymnasium
    environment.

    The caller submits its assignment (``sim.submit``) before asking for the next one. Points without
    candidates (e.g. every PE able to run the ready tasks is down) are passed with an empty submit, as the
    ``deepsocs`` scheduler passes them under :func:`simulate`.
    """
    for view in decision_points(sim):
        obs = featurizer.observe(view)
        if len(obs.candidates):
            yield view, obs
        else:
            sim.submit([])


def run_episode(
    platform: Platform,
    workload: Workload,
    options: RunOptions,
    net: DeepSoCSNet | None,
    rule: DecisionRule,
    *,
    mode: str = "sample",
    sigma: float = 0.2,
    label: bool = False,
    policy_seed: int = 0,
    pair_features: bool = False,
    energy_weight: float = 0.0,
) -> Episode:
    """Run one episode and record it.

    ``mode``: ``"sample"`` (the policy samples; training), ``"greedy"`` (the deployed policy),
    ``"expert"`` (the ``srpt_eft`` heuristic acts; ``net`` may be None). With ``label``, every step also gets
    the expert's action (imitation data). The policy's random choices come from ``policy_seed``, independent
    of the run's seed, so several rollouts can share one arrival sequence. ``energy_weight`` (us of latency
    per uJ) adds the energy the run spends to the objective (see :class:`EnergyMeter`).
    """
    area = LatencyArea()
    energy = EnergyMeter(platform)
    sim = Simulation(platform, workload, options, binding=rule.binding, dispatch_order="first_ready", observers=[area, energy])
    featurizer = Featurizer(platform, rule, pair_features=pair_features or (net is not None and net.config.pe_head))
    policy = Policy(net, featurizer, sigma=sigma) if net is not None else None
    expert = Expert(platform) if (mode == "expert" or label) else None
    rng = np.random.default_rng(policy_seed) if mode == "sample" else None
    episode = Episode(energy_weight=energy_weight)
    for view, obs in agent_decisions(sim, featurizer):
        teacher = expert.label(view, obs) if expert is not None else None
        if mode == "expert":
            assert teacher is not None
            step = Step(obs, teacher.action, -1, teacher.priority, 0.0, view.now)
            assignment = teacher.assignment(obs)
        else:
            assert policy is not None
            assignment, step = policy.act(obs, view.now, rng)
        episode.steps.append(step)
        episode.areas.append(area.area(view) + energy_weight * energy.energy_uj)
        if label and teacher is not None:
            episode.expert_actions.append(teacher.action)
            episode.expert_priorities.append(teacher.priority)
        sim.submit([assignment])
    lat = np.asarray(area.latencies)
    episode.energy_uj = energy.energy_uj
    episode.total_latency = area.finished_latency + energy_weight * energy.energy_uj
    episode.jobs = area.jobs_finished
    episode.mean_latency_us = float(lat.mean()) if lat.size else 0.0
    episode.p95_latency_us = float(np.percentile(lat, 95)) if lat.size else 0.0
    return episode


def input_dependent_baseline(episodes: list[Episode]) -> list[np.ndarray]:
    """Decima's baseline for rollouts that share one arrival sequence: at each step's time, the mean over
    the rollouts of their return-to-go at that time (step functions, interpolated)."""
    curves = []
    for ep in episodes:
        t = ep.times()
        g = ep.returns_to_go()
        if t.size == 0:
            curves.append((np.zeros(1), np.zeros(1)))
            continue
        _, first = np.unique(t, return_index=True)
        curves.append((t[first], g[first]))
    out = []
    for ep in episodes:
        t = ep.times()
        if t.size == 0:
            out.append(np.zeros(0))
            continue
        b = np.mean([np.interp(t, ct, cg) for ct, cg in curves], axis=0)
        out.append(b)
    return out


@dataclass(frozen=True)
class RolloutJob:
    """Everything one episode depends on, by value, so any process of any study backend (a local worker, a
    Ray task on another node) can run it with :func:`run_job` and the result depends on nothing else."""

    platform: str | Platform  #: built-in name, file path, or a platform (e.g. a drawn random one)
    workload: str  #: built-in name or file path
    rate_jobs_per_ms: float | None
    options: RunOptions
    rule: DecisionRule
    model: ModelConfig | None = None  #: None with mode "expert"
    weights: dict[str, torch.Tensor] | None = None
    mode: str = "sample"
    sigma: float = 0.0
    label: bool = False
    policy_seed: int = 0
    energy_weight: float = 0.0


def run_job(job: RolloutJob) -> Episode:
    """Run :class:`RolloutJob` ``job`` (in this process) and return its episode, trimmed for transfer.

    The function a study backend maps over rollout jobs (``backend.map(run_job, jobs)``, see
    :mod:`soc_emu.study.backends`): module-level, one value in, one value out. Acting runs on numpy
    (:class:`agents.inference.FastNet`), so the result does not depend on torch's thread count.
    """
    from soc_emu.runner import ArrivalOverrides, apply_overrides, resolve_scenario

    platform, workload = resolve_scenario(job.platform, job.workload)
    if job.rate_jobs_per_ms is not None:
        workload = apply_overrides(workload, ArrivalOverrides(rate_jobs_per_ms=job.rate_jobs_per_ms))
    net = None
    if job.model is not None and job.weights is not None:
        net = DeepSoCSNet(job.model)
        net.load_state_dict(job.weights)
        net.eval()
    episode = run_episode(platform, workload, job.options, net, job.rule, mode=job.mode, sigma=job.sigma,
                          label=job.label, policy_seed=job.policy_seed, pair_features=job.model is not None and job.model.pe_head,
                          energy_weight=job.energy_weight)
    for step in episode.steps:
        step.obs.refs = []  # not needed for learning; keeps the transfer small
    return episode
