"""Fast single-decision inference: the network's forward pass in numpy, from the torch weights.

A decision needs one forward pass over a few hundred rows with ~16-32 wide layers. At that size the cost
is per-operation overhead, and numpy's is several times smaller than torch's, so acting (deployed
scheduler, training rollouts) uses :class:`FastNet`; learning (batched, with gradients) uses the torch
module. Both compute the same function (``tests/agents`` checks they agree).

Aggregations use sorted segments (``np.add.reduceat``) instead of scatter-adds: edges are sorted by parent
and a job's tasks are contiguous in an observation.
"""

from __future__ import annotations

import numpy as np

from agents.features import Observation
from agents.model import DeepSoCSNet

_SLOPE = np.float32(0.1)
#: Largest ``m * n * k`` of one product kept below OpenBLAS's multithreading threshold (4 x 65536).
_BLAS_SINGLE_THREAD_LIMIT = 200_000


class _MLP:
    """A ``mlp()`` Sequential as numpy arrays: ``(W^T, b, activate)`` per linear layer."""

    def __init__(self, seq) -> None:  # type: ignore[no-untyped-def]
        from torch import nn

        mods = list(seq)
        self.layers: list[tuple[np.ndarray, np.ndarray, bool]] = []
        for i, m in enumerate(mods):
            if isinstance(m, nn.Linear):
                act = i + 1 < len(mods) and isinstance(mods[i + 1], nn.LeakyReLU)
                self.layers.append(
                    (m.weight.detach().numpy().T.astype(np.float32).copy(), m.bias.detach().numpy().astype(np.float32).copy(), act)
                )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for w, b, act in self.layers:
            x = _matmul(x, w)
            x += b
            if act:
                x = np.maximum(x, x * _SLOPE)
        return x


def _matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w`` in row blocks small enough that OpenBLAS stays on the calling thread.

    OpenBLAS starts its thread pool for products with ``m * n * k >= 262144``; on a busy machine waking
    those threads costs milliseconds, far more than these tiny products. Blocks keep each call below it.
    """
    rows = x.shape[0]
    block = max(1, _BLAS_SINGLE_THREAD_LIMIT // (w.shape[0] * w.shape[1]))
    if rows <= block:
        return x @ w
    return np.concatenate([x[i : i + block] @ w for i in range(0, rows, block)])


def _segment_sum(values: np.ndarray, segment: np.ndarray, count: int) -> np.ndarray:
    """Sum rows of ``values`` into ``count`` segments given by the *sorted* ``segment`` ids."""
    out = np.zeros((count, values.shape[1]), dtype=values.dtype)
    if len(segment) == 0:
        return out
    starts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
    out[segment[starts]] = np.add.reduceat(values, starts, axis=0)
    return out


class FastNet:
    """Numpy copy of a :class:`DeepSoCSNet` for acting on one observation at a time."""

    def __init__(self, net: DeepSoCSNet) -> None:
        self.config = net.config
        self.node_in = _MLP(net.node_in)
        self.message = _MLP(net.message)
        self.update = _MLP(net.update)
        self.node_pool = _MLP(net.node_pool)
        self.job_summary = _MLP(net.job_summary)
        self.pe_embed = _MLP(net.pe_embed)
        self.global_summary = _MLP(net.global_summary)
        self.task_head = _MLP(net.task_head)
        self.priority_head = _MLP(net.priority_head)
        self.pe_head = _MLP(net.pe_head) if net.pe_head is not None else None

    def embed(self, obs: Observation) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Node embeddings, job summaries, the global summary ``[1, E]`` and PE embeddings."""
        node_job = obs.node_job
        h0 = self.node_in(np.concatenate([obs.nodes, obs.jobs[node_job]], axis=1))
        h = h0
        edges = obs.edges
        if len(edges):
            order = np.argsort(edges[:, 0], kind="stable")
            parents = edges[order, 0]
            children = edges[order, 1]
            n = len(h0)
            for _ in range(self.config.mp_steps):
                agg = _segment_sum(self.message(h)[children], parents, n)
                h = h0 + self.update(agg)
        num_jobs = len(obs.jobs)
        counts = np.bincount(node_job, minlength=num_jobs).astype(np.float32)
        pooled = _segment_sum(self.node_pool(h), node_job, num_jobs) / np.maximum(counts, 1.0)[:, None]
        y = self.job_summary(np.concatenate([obs.jobs, pooled], axis=1))
        pe_e = self.pe_embed(obs.pes)
        y_mean = y.mean(axis=0, keepdims=True) if num_jobs else np.zeros((1, y.shape[1]), np.float32)
        z = self.global_summary(np.concatenate([y_mean, pe_e.mean(axis=0, keepdims=True), obs.globals_[None, :]], axis=1))
        return h, y, z, pe_e

    def _context(self, obs: Observation, rows: np.ndarray, h: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        job = obs.node_job[rows]
        return np.concatenate([obs.nodes[rows], h[rows], y[job], np.repeat(z, len(rows), axis=0)], axis=1)

    def task_logits(self, obs: Observation, h: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Scores of ``obs.candidates``."""
        return self.task_head(self._context(obs, obs.candidates, h, y, z))[:, 0]

    def priority_mean(self, obs: Observation, action: int, h: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
        """Mean queue priority of candidate ``action``."""
        rows = obs.candidates[action : action + 1]
        return float(self.priority_head(self._context(obs, rows, h, y, z))[0, 0])

    def pe_logits(self, obs: Observation, action: int, h: np.ndarray, y: np.ndarray, z: np.ndarray, pe_e: np.ndarray) -> np.ndarray:
        """Scores of the PEs offered for candidate ``action`` (PE head only)."""
        assert self.pe_head is not None
        row = int(obs.candidates[action])
        job = obs.node_job[row]
        pes = obs.pair_pes[action]
        ctx = np.concatenate([h[row], y[job], z[0]])
        feats = np.concatenate([np.repeat(ctx[None, :], len(pes), axis=0), pe_e[pes], obs.pair_x[action]], axis=1)
        return self.pe_head(feats)[:, 0]
