"""The agent's decision procedure: observation -> (task, PE), greedy or sampled, and batching for training.

One decision picks one task. Under late binding the engine reopens a decision at the same time while
ready tasks and idle PEs remain, so a decision point with several free PEs is a sequence of picks, each
seeing the effect of the previous ones (as in Decima).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from agents.features import Featurizer, Observation
from agents.inference import FastNet
from agents.model import Batch, DeepSoCSNet
from soc_emu.engine.view import Assignment, SystemView


@dataclass
class Step:
    """One decision the policy took: its observation and the chosen candidate (and PE option)."""

    obs: Observation
    action: int  #: index into ``obs.candidates``
    pe_action: int = -1  #: index into ``obs.pair_pes[action]`` (PE head), else -1
    priority: float = 0.0  #: queue priority given to the task
    sigma: float = 0.0  #: std-dev the priority was sampled with (0: greedy)
    time_us: float = 0.0


def collate(observations: list[Observation], actions: list[int] | None = None, pe_head: bool = False) -> Batch:
    """Stack observations into one :class:`Batch` (graphs side by side, candidates padded).

    With ``pe_head`` and ``actions``, the PE options of each decision's chosen task are included.
    """
    if len(observations) == 1:
        o = observations[0]
        nodes, jobs, pes = o.nodes, o.jobs, o.pes
        node_job, edges = o.node_job, o.edges
        job_graph = np.zeros(len(o.jobs), dtype=np.int64)
        pe_graph = np.zeros(len(o.pes), dtype=np.int64)
        globals_ = o.globals_[None, :]
        node_off = [0]
    else:
        node_off = np.cumsum([0] + [len(o.nodes) for o in observations[:-1]]).tolist()
        job_off = np.cumsum([0] + [len(o.jobs) for o in observations[:-1]]).tolist()
        nodes = np.concatenate([o.nodes for o in observations])
        jobs = np.concatenate([o.jobs for o in observations])
        pes = np.concatenate([o.pes for o in observations])
        node_job = np.concatenate([o.node_job + off for o, off in zip(observations, job_off)])
        edges = np.concatenate([o.edges + off for o, off in zip(observations, node_off)])
        job_graph = np.concatenate([np.full(len(o.jobs), i, dtype=np.int64) for i, o in enumerate(observations)])
        pe_graph = np.concatenate([np.full(len(o.pes), i, dtype=np.int64) for i, o in enumerate(observations)])
        globals_ = np.stack([o.globals_ for o in observations])
    width = max(1, max(len(o.candidates) for o in observations))
    cand = np.zeros((len(observations), width), dtype=np.int64)
    mask = np.zeros((len(observations), width), dtype=bool)
    for i, (o, off) in enumerate(zip(observations, node_off)):
        k = len(o.candidates)
        cand[i, :k] = o.candidates + off
        mask[i, :k] = True
    batch = Batch(
        nodes=torch.from_numpy(nodes),
        jobs=torch.from_numpy(jobs),
        pes=torch.from_numpy(pes),
        globals_=torch.from_numpy(globals_),
        node_job=torch.from_numpy(node_job),
        parents=torch.from_numpy(np.ascontiguousarray(edges[:, 0])),
        children=torch.from_numpy(np.ascontiguousarray(edges[:, 1])),
        job_graph=torch.from_numpy(job_graph),
        pe_graph=torch.from_numpy(pe_graph),
        num_graphs=len(observations),
        cand_index=torch.from_numpy(cand),
        cand_mask=torch.from_numpy(mask),
    )
    if pe_head and actions is not None:
        add_pairs(batch, observations, actions, node_off)
    return batch


def add_pairs(batch: Batch, observations: list[Observation], actions: list[int], node_off: list[int]) -> None:
    """Fill the PE-head part of ``batch`` for the chosen candidate of every decision."""
    pe_off = np.cumsum([0] + [len(o.pes) for o in observations[:-1]]).tolist()
    width = max(1, max(len(o.pair_pes[a]) for o, a in zip(observations, actions)))
    b = len(observations)
    task = np.zeros(b, dtype=np.int64)
    pe = np.zeros((b, width), dtype=np.int64)
    x = np.zeros((b, width, observations[0].pair_x[actions[0]].shape[1] if observations[0].pair_x else 1), dtype=np.float32)
    mask = np.zeros((b, width), dtype=bool)
    for i, (o, a) in enumerate(zip(observations, actions)):
        task[i] = o.candidates[a] + node_off[i]
        k = len(o.pair_pes[a])
        pe[i, :k] = o.pair_pes[a] + pe_off[i]
        x[i, :k] = o.pair_x[a]
        mask[i, :k] = True
    batch.pair_task = torch.from_numpy(task)
    batch.pair_pe = torch.from_numpy(pe)
    batch.pair_x = torch.from_numpy(x)
    batch.pair_mask = torch.from_numpy(mask)


def _choose(logits: np.ndarray, rng: np.random.Generator | None) -> int:
    """Argmax (``rng`` None) or a sample from the softmax of 1-D ``logits``."""
    if rng is None:
        return int(np.argmax(logits))
    x = logits.astype(np.float64)
    p = np.exp(x - x.max())
    p /= p.sum()
    return int(rng.choice(len(p), p=p))


class Policy:
    """A network plus a featurizer: decides one assignment per call.

    ``sigma`` is the std-dev of the Gaussian the queue priority is sampled from when sampling.
    """

    def __init__(self, net: DeepSoCSNet, featurizer: Featurizer, sigma: float = 0.2) -> None:
        self.net = net
        self.featurizer = featurizer
        self.sigma = sigma
        self.fast = FastNet(net)
        self.pe_head = net.config.pe_head
        featurizer.feature_set = net.config.feature_set  # the observation the network was trained on
        if self.pe_head:
            featurizer.pair_features = True

    def decide(self, view: SystemView, rng: np.random.Generator | None = None) -> tuple[Assignment | None, Step | None]:
        """One assignment for ``view`` (None when no task may be picked now) and the step taken.

        ``rng`` None: greedy (the deployed policy); else actions are sampled with it (training).
        """
        obs = self.featurizer.observe(view)
        if len(obs.candidates) == 0:
            return None, None
        return self.act(obs, view.now, rng)

    def act(self, obs: Observation, now: float, rng: np.random.Generator | None = None) -> tuple[Assignment, Step]:
        """One assignment for an observation with at least one candidate (see :meth:`decide`)."""
        k = len(obs.candidates)
        fast = self.fast
        h, y, z, pe_e = fast.embed(obs)
        action = _choose(fast.task_logits(obs, h, y, z), rng) if k > 1 else 0
        mean = fast.priority_mean(obs, action, h, y, z)
        pe_action = -1
        if self.pe_head:
            pe_action = _choose(fast.pe_logits(obs, action, h, y, z, pe_e), rng) if len(obs.pair_pes[action]) > 1 else 0
        if rng is not None and self.sigma > 0:
            priority = mean + self.sigma * float(rng.standard_normal())
            sigma = self.sigma
        else:
            priority, sigma = mean, 0.0
        if self.pe_head:
            pe = int(obs.pair_pes[action][pe_action])
        else:
            pe = int(obs.candidate_pe[action])
        ref = obs.refs[int(obs.candidates[action])]
        return Assignment(ref, pe, priority), Step(obs, action, pe_action, priority, sigma, now)


class StepOutputs(NamedTuple):
    """What the network says about a batch of recorded steps (see :func:`log_probs`)."""

    logp: torch.Tensor  #: log-probability of each step's action (task, sampled priority, PE)
    entropy: torch.Tensor  #: entropy of each step's task distribution
    priority_mean: torch.Tensor  #: mean queue priority of each step's chosen task
    value: torch.Tensor | None  #: state value (value head only)


def log_probs(net: DeepSoCSNet, steps: list[Step]) -> StepOutputs:
    """For every step, under ``net`` (with gradients): the log-probability of its action (task, priority
    when it was sampled, and PE with a PE head), the entropy of the task distribution, the priority mean
    (for imitation) and, with a value head, the state value (for PPO)."""
    obs = [s.obs for s in steps]
    actions = [s.action for s in steps]
    batch = collate(obs, actions, pe_head=net.config.pe_head)
    h, y, z, pe_e = net.embed(batch)
    task_logits = net.task_logits(batch, h, y, z)
    logp_all = torch.log_softmax(task_logits, dim=1)
    act = torch.tensor(actions, dtype=torch.int64)
    logp = logp_all.gather(1, act.unsqueeze(1)).squeeze(1)
    p = logp_all.exp()
    entropy = -(p * logp_all.masked_fill(~batch.cand_mask, 0.0)).sum(dim=1)
    rows = batch.cand_index.gather(1, act.unsqueeze(1)).squeeze(1)
    mean = net.priority_mean(batch, rows, h, y, z)
    sigma = torch.tensor([s.sigma for s in steps], dtype=mean.dtype)
    sampled = sigma > 0
    if bool(sampled.any()):
        prio = torch.tensor([s.priority for s in steps], dtype=mean.dtype)
        safe = torch.where(sampled, sigma, torch.ones_like(sigma))
        gauss = -0.5 * ((prio - mean) / safe) ** 2 - torch.log(safe)
        logp = logp + torch.where(sampled, gauss, torch.zeros_like(gauss))
    if net.pe_head is not None:
        pe_logits = net.pe_logits(batch, h, y, z, pe_e)
        pe_lp = torch.log_softmax(pe_logits, dim=1)
        pe_act = torch.tensor([max(s.pe_action, 0) for s in steps], dtype=torch.int64)
        logp = logp + pe_lp.gather(1, pe_act.unsqueeze(1)).squeeze(1)
    value = net.value(batch, z) if net.value_head is not None else None
    return StepOutputs(logp, entropy, mean, value)


def imitation_outputs(
    net: DeepSoCSNet, observations: list[Observation], actions: list[int]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """For imitation: task logits ``[B, C]``, the priority mean of each decision's labelled task, and
    with a PE head its PE logits plus the index of the EFT PE among the offered ones (the PE target)."""
    batch = collate(observations, actions, pe_head=net.config.pe_head)
    h, y, z, pe_e = net.embed(batch)
    logits = net.task_logits(batch, h, y, z)
    act = torch.tensor(actions, dtype=torch.int64)
    rows = batch.cand_index.gather(1, act.unsqueeze(1)).squeeze(1)
    mean = net.priority_mean(batch, rows, h, y, z)
    pe_logits = None
    pe_target = torch.zeros(len(actions), dtype=torch.int64)
    if net.pe_head is not None:
        pe_logits = net.pe_logits(batch, h, y, z, pe_e)
        pe_target = torch.tensor(
            [int(np.flatnonzero(o.pair_pes[a] == o.candidate_pe[a])[0]) for o, a in zip(observations, actions)],
            dtype=torch.int64,
        )
    return logits, mean, pe_logits, pe_target
