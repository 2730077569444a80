"""Episodes for training and evaluation: drive the engine with the policy (or the expert) and record steps.

The reward is the average-latency objective spread over decisions. With
``Phi(t) = sum of finished jobs' latencies + sum over jobs in the system of (t - admission)`` (the area
under "jobs in the system" up to ``t``), the reward of a step is ``-(Phi(t_next) - Phi(t)) / scale``;
over a whole episode the rewards sum to ``-(total job latency) / scale``, with ``scale = jobs x
LATENCY_SCALE_US``, i.e. minus the mean job latency in units of ``LATENCY_SCALE_US``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents.expert import expert_action
from agents.features import DecisionRule, Featurizer
from agents.model import DeepSoCSNet
from agents.policy import Policy, Step
from soc_emu.engine.records import JobRecord
from soc_emu.engine.simulation import RunOptions, Simulation
from soc_emu.engine.view import Assignment, SystemView
from soc_emu.model.platform import Platform
from soc_emu.model.workload import Workload

#: Latency unit of rewards and returns (us).
LATENCY_SCALE_US = 100.0


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
    total_latency: float = 0.0
    jobs: int = 0
    mean_latency_us: float = 0.0
    p95_latency_us: float = 0.0

    def returns_to_go(self) -> np.ndarray:
        """Per step: the sum of the rewards from it to the end of the episode."""
        norm = max(self.jobs, 1) * LATENCY_SCALE_US
        return -(self.total_latency - np.asarray(self.areas)) / norm

    def times(self) -> np.ndarray:
        return np.array([s.time_us for s in self.steps])


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
) -> Episode:
    """Run one episode and record it.

    ``mode``: ``"sample"`` (the policy samples; training), ``"greedy"`` (the deployed policy),
    ``"expert"`` (the expert acts; ``net`` may be None). With ``label``, every step also gets the expert's
    action (imitation data). The policy's random choices come from ``policy_seed``, independent of the
    run's seed, so several rollouts can share one arrival sequence.
    """
    area = LatencyArea()
    sim = Simulation(platform, workload, options, binding=rule.binding, dispatch_order="first_ready", observers=[area])
    featurizer = Featurizer(platform, rule, pair_features=pair_features or (net is not None and net.config.pe_head))
    policy = Policy(net, featurizer, sigma=sigma) if net is not None else None
    rng = np.random.default_rng(policy_seed) if mode == "sample" else None
    episode = Episode()
    view = sim.next_decision()
    while view is not None:
        if mode == "expert":
            obs = featurizer.observe(view)
            if len(obs.candidates) == 0:
                sim.submit([])
                view = sim.next_decision()
                continue
            action, priority = expert_action(obs)
            step = Step(obs, action, -1, priority, 0.0, view.now)
            assignment = Assignment(obs.refs[int(obs.candidates[action])], int(obs.candidate_pe[action]), priority)
        else:
            assert policy is not None
            assignment, step = policy.decide(view, rng)
        if assignment is None or step is None:
            sim.submit([])
        else:
            episode.steps.append(step)
            episode.areas.append(area.area(view))
            if label:
                a, p = expert_action(step.obs)
                episode.expert_actions.append(a)
                episode.expert_priorities.append(p)
            sim.submit([assignment])
        view = sim.next_decision()
    lat = np.asarray(area.latencies)
    episode.total_latency = area.finished_latency
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
