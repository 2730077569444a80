"""The DeepSoCS network in plain PyTorch: DAG message passing, job and global summaries, two heads.

Structure (Decima's, which DeepSoCS adopted; sizes in :class:`ModelConfig`):

1. Node embedding ``h0 = MLP([task features, its job's features])``.
2. ``mp_steps`` rounds of message passing from children to parents along the DAG edges between
   unfinished tasks: ``h = h0 + g(sum over children c of f(h_c))``. After ``k`` rounds a task's embedding
   summarises its descendants up to depth ``k`` (the upward-rank feature carries the full critical path).
3. Per-job summary ``y_j = MLP([job features, mean over the job's tasks of phi(h)])``; global summary
   ``z = MLP([mean of y, mean of PE embeddings, global features])``.
4. Task head: a score per candidate task from ``[h_v, y_job(v), z, task features]``; softmax over the
   candidates of one decision is the policy over tasks.
5. Priority head: the mean of a Gaussian over the chosen task's queue priority (lower starts first among
   the tasks queued on a PE). This is what lets the agent serve short jobs first under load.
6. PE head (optional; otherwise the earliest-finish-time rule maps the chosen task): a score per offered PE
   from ``[h_v, y, z, PE embedding, (task, PE) pair features]``.
7. Value head (optional, for PPO): the expected return to go from ``[z, global features]``.

Nothing is sized by the number of jobs, tasks or PEs: every set is pooled or scored row by row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from agents.features import GLOBAL_DIM, JOB_DIM, LATEST_FEATURE_SET, NODE_DIM, PAIR_DIM, PE_DIM


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the network. The feature sizes are stored in checkpoints to detect incompatible ones."""

    node_dim: int = NODE_DIM
    job_dim: int = JOB_DIM
    pe_dim: int = PE_DIM
    global_dim: int = GLOBAL_DIM
    pair_dim: int = PAIR_DIM
    hidden: int = 32
    embed: int = 16
    mp_steps: int = 3
    pe_head: bool = False
    value_head: bool = False  #: a state-value head for PPO (absent in older checkpoints)
    #: version of the observation (:data:`agents.features.FEATURE_SETS`); checkpoints without it used set 1
    feature_set: int = LATEST_FEATURE_SET

    def to_dict(self) -> dict:
        return asdict(self)

    def feature_sizes(self) -> dict[str, int]:
        """The feature widths (what must match the featurizer)."""
        return {
            "node_dim": self.node_dim,
            "job_dim": self.job_dim,
            "pe_dim": self.pe_dim,
            "global_dim": self.global_dim,
            "pair_dim": self.pair_dim,
        }


def mlp(sizes: list[int], *, final_activation: bool = False) -> nn.Sequential:
    """Linear layers with leaky-ReLU between them (and after the last one if asked)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or final_activation:
            layers.append(nn.LeakyReLU(0.1))
    return nn.Sequential(*layers)


@dataclass
class Batch:
    """One or more observations as tensors (a disjoint union of their graphs).

    ``cand_index`` ``[B, C]`` holds node rows of each decision's candidates (padded with 0) and
    ``cand_mask`` which entries are real; ``pair_*`` the same for the PE head's offered PEs of the chosen
    task of each decision (absent without a PE head).
    """

    nodes: torch.Tensor
    jobs: torch.Tensor
    pes: torch.Tensor
    globals_: torch.Tensor
    node_job: torch.Tensor
    parents: torch.Tensor
    children: torch.Tensor
    job_graph: torch.Tensor  #: [J] decision of each job row
    pe_graph: torch.Tensor  #: [P] decision of each PE row
    num_graphs: int
    cand_index: torch.Tensor
    cand_mask: torch.Tensor
    pair_task: torch.Tensor | None = None  #: [B] node row of the task whose PE is chosen
    pair_pe: torch.Tensor | None = None  #: [B, Q] PE rows offered (padded)
    pair_x: torch.Tensor | None = None  #: [B, Q, PAIR_DIM]
    pair_mask: torch.Tensor | None = None  #: [B, Q]


class DeepSoCSNet(nn.Module):
    """Hierarchical graph policy network (see the module docstring)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        h, e = c.hidden, c.embed
        self.node_in = mlp([c.node_dim + c.job_dim, h, e])
        self.message = mlp([e, h, e])
        self.update = mlp([e, h, e])
        self.node_pool = mlp([e, h, e])
        self.job_summary = mlp([c.job_dim + e, h, e])
        self.pe_embed = mlp([c.pe_dim, h, e])
        self.global_summary = mlp([2 * e + c.global_dim, h, e])
        self.task_head = mlp([c.node_dim + 3 * e, h, h // 2, 1])
        self.priority_head = mlp([c.node_dim + 3 * e, h, 1])
        self.pe_head = mlp([3 * e + e + c.pair_dim, h, h // 2, 1]) if c.pe_head else None
        self.value_head = mlp([e + c.global_dim, h, 1]) if c.value_head else None

    def embed(self, b: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Node embeddings ``h``, job summaries ``y``, global summaries ``z`` and PE embeddings."""
        x = torch.cat([b.nodes, b.jobs[b.node_job]], dim=1)
        h0 = self.node_in(x)
        h = h0
        if b.parents.numel():
            for _ in range(self.config.mp_steps):
                msg = self.message(h)[b.children]
                agg = torch.zeros_like(h).index_add_(0, b.parents, msg)
                h = h0 + self.update(agg)
        num_jobs = b.jobs.shape[0]
        pooled = torch.zeros(num_jobs, h.shape[1], dtype=h.dtype).index_add_(0, b.node_job, self.node_pool(h))
        counts = torch.zeros(num_jobs, dtype=h.dtype).index_add_(0, b.node_job, torch.ones_like(b.node_job, dtype=h.dtype))
        pooled = pooled / counts.clamp(min=1.0).unsqueeze(1)
        y = self.job_summary(torch.cat([b.jobs, pooled], dim=1))
        g = b.num_graphs
        jobs_per = torch.zeros(g, dtype=h.dtype).index_add_(0, b.job_graph, torch.ones(num_jobs, dtype=h.dtype))
        y_mean = torch.zeros(g, y.shape[1], dtype=h.dtype).index_add_(0, b.job_graph, y) / jobs_per.clamp(min=1.0).unsqueeze(1)
        pe_e = self.pe_embed(b.pes)
        pes_per = torch.zeros(g, dtype=h.dtype).index_add_(0, b.pe_graph, torch.ones(pe_e.shape[0], dtype=h.dtype))
        pe_mean = torch.zeros(g, pe_e.shape[1], dtype=h.dtype).index_add_(0, b.pe_graph, pe_e) / pes_per.clamp(min=1.0).unsqueeze(1)
        z = self.global_summary(torch.cat([y_mean, pe_mean, b.globals_], dim=1))
        return h, y, z, pe_e

    def task_logits(self, b: Batch, h: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``[B, C]`` scores of every decision's candidates (-inf on padding)."""
        rows = b.cand_index
        flat = rows.reshape(-1)
        job = b.node_job[flat]
        graph = b.job_graph[job]
        feats = torch.cat([b.nodes[flat], h[flat], y[job], z[graph]], dim=1)
        logits = self.task_head(feats).reshape(rows.shape)
        return logits.masked_fill(~b.cand_mask, float("-inf"))

    def priority_mean(self, b: Batch, rows: torch.Tensor, h: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``[len(rows)]`` mean queue priority of the tasks at node ``rows``."""
        job = b.node_job[rows]
        feats = torch.cat([b.nodes[rows], h[rows], y[job], z[b.job_graph[job]]], dim=1)
        return self.priority_head(feats).squeeze(1)

    def pe_logits(self, b: Batch, h: torch.Tensor, y: torch.Tensor, z: torch.Tensor, pe_e: torch.Tensor) -> torch.Tensor:
        """``[B, Q]`` scores of the PEs offered for each decision's chosen task (-inf on padding)."""
        assert self.pe_head is not None and b.pair_task is not None and b.pair_pe is not None
        assert b.pair_x is not None and b.pair_mask is not None
        bsz, q = b.pair_pe.shape
        task = b.pair_task
        job = b.node_job[task]
        ctx = torch.cat([h[task], y[job], z[b.job_graph[job]]], dim=1)
        ctx = ctx.unsqueeze(1).expand(bsz, q, ctx.shape[1])
        feats = torch.cat([ctx, pe_e[b.pair_pe], b.pair_x], dim=2)
        logits = self.pe_head(feats).squeeze(2)
        return logits.masked_fill(~b.pair_mask, float("-inf"))

    def value(self, b: Batch, z: torch.Tensor) -> torch.Tensor:
        """``[B]`` state values (expected return to go, in the reward's units) from the global summaries."""
        assert self.value_head is not None
        return self.value_head(torch.cat([z, b.globals_], dim=1)).squeeze(1)

    def forward(self, b: Batch) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Task logits and, with a PE head and ``pair_*`` filled, PE logits."""
        h, y, z, pe_e = self.embed(b)
        tl = self.task_logits(b, h, y, z)
        pl = self.pe_logits(b, h, y, z, pe_e) if (self.pe_head is not None and b.pair_task is not None) else None
        return tl, pl
