"""A gymnasium environment over the emulator: one step per scheduling decision.

The environment drives the same engine every scheduler uses (:class:`~soc_emu.engine.simulation.Simulation`),
through the same decision loop (:func:`~soc_emu.engine.simulation.decision_points`, stepped one decision
per ``step``); it never simulates anything itself. A step assigns one ready task;
the engine reopens the decision at the same time while ready tasks remain, and the environment runs on to
the next decision point that offers a task (submitting nothing at points that offer none, e.g. when
every PE able to run the ready tasks is down).

Observation (a ``Dict`` of padded arrays; see :mod:`agents.features` for the columns)
    ``nodes [max_nodes, NODE_DIM]``, ``node_mask``, ``node_job`` (job row of each task), ``jobs
    [max_jobs, JOB_DIM]``, ``job_mask``, ``pes [P, PE_DIM]``, ``globals``, ``edges [max_edges, 2]``
    (parent row, child row) with ``edge_mask``, and ``action_mask``.
Action
    ``Discrete(max_nodes)``: the row of the task to assign; the earliest-finish-time rule picks its PE.
    With ``pe_choice=True``: ``Discrete(max_nodes * P)``, ``row * P + pe``. The mask (1 = legal) is in the
    observation, in ``info["action_mask"]`` and from :meth:`SchedulingEnv.action_masks`.
Queue priority of an assigned task
    ``"remaining_work"`` (default): its job's remaining work (the ``srpt_eft`` heuristic's priority), so PEs
    serve short jobs first;
    ``"fifo"``: assignment order.
Reward
    ``-(increase of the area under "jobs in the system") / (num_jobs x 100 us)`` per step, so an episode's
    rewards sum to minus its mean job latency in units of 100 us (see :mod:`agents.rollout`).
Episode end
    ``terminated`` when every job of the episode has left the system; ``truncated`` when simulated time
    passes ``max_time_us`` or ``max_steps`` steps were taken.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from agents.expert import Expert
from agents.features import GLOBAL_DIM, JOB_DIM, NODE_DIM, PE_DIM, DecisionRule, Featurizer, Observation
from agents.rollout import LATENCY_SCALE_US, LatencyArea, agent_decisions
from soc_emu.engine.options import FailureModel
from soc_emu.engine.simulation import RunOptions, Simulation
from soc_emu.engine.view import Assignment, Binding, SystemView
from soc_emu.errors import SocEmuError
from soc_emu.model.platform import Platform
from soc_emu.model.workload import Workload

PRIORITY_RULES = ("remaining_work", "fifo")
#: Bound of the feature boxes (features are log-scaled times, flags and fractions: far below this).
FEATURE_BOUND = 1.0e4


class SchedulingEnv(gym.Env):
    """See the module docstring.

    Parameters
    ----------
    platform, workload:
        Objects or built-in names / file paths (as ``soc-emu run`` takes them).
    num_jobs:
        Jobs per episode.
    rate_jobs_per_ms:
        Override the workload's arrival rate.
    noise_rsd, failures:
        Execution-time noise and PE failures of every episode.
    binding:
        ``Binding.ON_READY`` (default) or ``Binding.LATE`` (see :class:`agents.features.DecisionRule`).
    pe_choice:
        Let the action choose the PE among those the decision rule offers (else earliest finish time).
    max_nodes, max_jobs, max_edges:
        Padding sizes; a state that does not fit raises :class:`SocEmuError` naming the size to raise.
    invalid_action:
        What a masked-out action does: ``"replace"`` (default; the lowest legal action is taken instead and
        ``info["invalid_action"]`` is True, so generic tools such as ``check_env`` can step the env) or
        ``"raise"`` (``ValueError``).
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        platform: Platform | str = "hetero",
        workload: Workload | str = "ds3_mix",
        *,
        num_jobs: int = 50,
        rate_jobs_per_ms: float | None = None,
        noise_rsd: float = 0.0,
        failures: FailureModel | None = None,
        binding: Binding = Binding.ON_READY,
        pe_choice: bool = False,
        priority: str = "remaining_work",
        max_nodes: int = 512,
        max_jobs: int = 64,
        max_edges: int = 1024,
        max_time_us: float | None = None,
        max_steps: int | None = None,
        invalid_action: str = "replace",
    ) -> None:
        from soc_emu.runner import ArrivalOverrides, apply_overrides, resolve_scenario

        if invalid_action not in ("replace", "raise"):
            raise SocEmuError(f"invalid_action must be 'replace' or 'raise', got {invalid_action!r}", source="invalid_action")
        self.invalid_action = invalid_action
        if priority not in PRIORITY_RULES:
            raise SocEmuError(f"unknown priority rule {priority!r} ({', '.join(PRIORITY_RULES)})", source="priority")
        self.platform, workload = resolve_scenario(platform, workload)
        if rate_jobs_per_ms is not None:
            workload = apply_overrides(workload, ArrivalOverrides(rate_jobs_per_ms=rate_jobs_per_ms))
        self.workload = workload
        self.num_jobs = num_jobs
        self.noise_rsd = noise_rsd
        self.failures = failures
        self.rule = DecisionRule(binding)
        self.pe_choice = pe_choice
        self.priority = priority
        self.max_nodes, self.max_jobs, self.max_edges = max_nodes, max_jobs, max_edges
        self.max_time_us = max_time_us
        self.max_steps = max_steps
        self.num_pes = len(self.platform.pes)
        p = self.num_pes
        n_actions = max_nodes * p if pe_choice else max_nodes
        inf = FEATURE_BOUND
        self.observation_space = spaces.Dict(
            {
                "nodes": spaces.Box(-inf, inf, (max_nodes, NODE_DIM), np.float32),
                "node_mask": spaces.Box(0, 1, (max_nodes,), np.int8),
                "node_job": spaces.Box(0, max_jobs - 1, (max_nodes,), np.int64),
                "jobs": spaces.Box(-inf, inf, (max_jobs, JOB_DIM), np.float32),
                "job_mask": spaces.Box(0, 1, (max_jobs,), np.int8),
                "pes": spaces.Box(-inf, inf, (p, PE_DIM), np.float32),
                "globals": spaces.Box(-inf, inf, (GLOBAL_DIM,), np.float32),
                "edges": spaces.Box(0, max_nodes - 1, (max_edges, 2), np.int64),
                "edge_mask": spaces.Box(0, 1, (max_edges,), np.int8),
                "action_mask": spaces.Box(0, 1, (n_actions,), np.int8),
            }
        )
        self.action_space = spaces.Discrete(n_actions)
        self._sim: Simulation | None = None
        self._featurizer: Featurizer | None = None
        self._obs: Observation | None = None
        self._view: SystemView | None = None
        self._decisions: Iterator[tuple[SystemView, Observation]] | None = None
        self._expert: Expert | None = None
        self._mask = np.zeros(n_actions, dtype=np.int8)
        self._area = LatencyArea()
        self._last_area = 0.0
        self._steps = 0

    # -- gymnasium API ----------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        run_seed = int(self.np_random.integers(0, 2**31 - 1))
        self._area = LatencyArea()
        self._sim = Simulation(
            self.platform,
            self.workload,
            RunOptions(seed=run_seed, num_jobs=self.num_jobs, noise_rsd=self.noise_rsd, failures=self.failures),
            binding=self.rule.binding,
            dispatch_order="first_ready",
            observers=[self._area],
        )
        self._featurizer = Featurizer(self.platform, self.rule, pair_features=self.pe_choice)
        self._decisions = agent_decisions(self._sim, self._featurizer)
        self._expert = Expert(self.platform)
        self._steps = 0
        self._last_area = 0.0
        self._advance()
        return self._observation(), self._info()

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self._sim is None:
            raise RuntimeError("call reset() before step()")
        if self._obs is None or self._view is None:
            raise RuntimeError("the episode is over; call reset()")
        action = int(action)
        invalid = not (0 <= action < len(self._mask)) or not self._mask[action]
        if invalid:
            if self.invalid_action == "raise":
                raise ValueError(f"action {action} is masked out (not a legal assignment now); use info['action_mask']")
            action = int(np.flatnonzero(self._mask)[0])
        obs = self._obs
        if self.pe_choice:
            row, pe = divmod(action, self.num_pes)
        else:
            row, pe = action, -1
        k = int(np.flatnonzero(obs.candidates == row)[0])
        if pe < 0:
            pe = int(obs.candidate_pe[k])
        if self.priority == "remaining_work":
            assert self._expert is not None
            priority = self._expert.priority(self._view, obs.refs[row])
        else:
            priority = float(self._steps)
        self._sim.submit([Assignment(obs.refs[row], pe, priority)])
        self._steps += 1
        self._advance()
        terminated = self._view is None
        if terminated:
            area_now = self._area.finished_latency
        else:
            assert self._view is not None
            area_now = self._area.area(self._view)
        reward = -(area_now - self._last_area) / (self.num_jobs * LATENCY_SCALE_US)
        self._last_area = area_now
        truncated = not terminated and (
            (self.max_time_us is not None and self._sim.now >= self.max_time_us)
            or (self.max_steps is not None and self._steps >= self.max_steps)
        )
        info = self._info()
        info["invalid_action"] = invalid
        return self._observation(), float(reward), terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """The legal actions now (bool), for MaskablePPO-style agents."""
        return self._mask.astype(bool)

    # -- internals --------------------------------------------------------------------------------
    def _advance(self) -> None:
        """Run on to the next decision point that offers a task, or the end of the run (the loop is
        :func:`agents.rollout.agent_decisions` over the engine's
        :func:`~soc_emu.engine.simulation.decision_points`, the loop training rollouts and ``simulate`` use)."""
        assert self._decisions is not None
        self._view, self._obs = next(self._decisions, (None, None))
        self._mask[:] = 0
        obs = self._obs
        if obs is None:
            return
        self._check_fits(obs)
        if self.pe_choice:
            for k, row in enumerate(obs.candidates):
                self._mask[int(row) * self.num_pes + obs.pair_pes[k]] = 1
        else:
            self._mask[obs.candidates] = 1

    def _check_fits(self, obs: Observation) -> None:
        for size, limit, name in (
            (len(obs.nodes), self.max_nodes, "max_nodes"),
            (len(obs.jobs), self.max_jobs, "max_jobs"),
            (len(obs.edges), self.max_edges, "max_edges"),
        ):
            if size > limit:
                raise SocEmuError(f"the system state needs {size} rows but the observation holds {limit}", source=name)

    def _observation(self) -> dict[str, np.ndarray]:
        space = self.observation_space
        out = {key: np.zeros(sp.shape, dtype=sp.dtype) for key, sp in space.spaces.items()}
        obs = self._obs
        if obs is not None:
            n, j, e = len(obs.nodes), len(obs.jobs), len(obs.edges)
            out["nodes"][:n] = obs.nodes
            out["node_mask"][:n] = 1
            out["node_job"][:n] = obs.node_job
            out["jobs"][:j] = obs.jobs
            out["job_mask"][:j] = 1
            out["pes"][:] = obs.pes
            out["globals"][:] = obs.globals_
            out["edges"][:e] = obs.edges
            out["edge_mask"][:e] = 1
        out["action_mask"][:] = self._mask
        return out

    def _info(self) -> dict[str, Any]:
        sim = self._sim
        return {
            "action_mask": self._mask.copy(),
            "time_us": sim.now if sim is not None else 0.0,
            "jobs_completed": sim.jobs_completed if sim is not None else 0,
            "mean_latency_us": (self._area.finished_latency / self._area.jobs_finished) if self._area.jobs_finished else None,
        }
