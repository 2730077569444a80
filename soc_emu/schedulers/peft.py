"""PEFT (Arabnejad & Barbosa 2014, "List scheduling algorithm for heterogeneous systems by an optimistic
cost table"): HEFT's planner with a look-ahead priority and PE choice.

Optimistic cost table (OCT)
    ``OCT(t, p)`` is the longest of the shortest paths from task ``t``, placed on PE ``p``, to an exit task,
    each successor taking its best PE regardless of load::

        OCT(t, p) = max over successors s of  min over PEs q that run s of
                    ( OCT(s, q) + w(s, q) + c(t, s, p, q) ),        OCT(exit, p) = 0

    with ``w(s, q)`` the nominal duration of ``s`` on ``q`` (:meth:`CostModel.duration`: execution + launch
    overhead) and ``c`` the edge's mean communication cost (:meth:`CostModel.mean_comm`) between
    different PEs, or the real same-PE link time when ``q == p`` (0 on the usual free same-PE link;
    the paper's 0).

Priority
    ``rank_oct(t)`` is the mean of ``OCT(t, p)`` over the PEs that can run ``t`` (the paper averages over
    all processors, which all run every task there). The paper keeps a ready list and always plans the
    ready task of highest ``rank_oct`` (ties: topological position), so a successor may come before an
    unrelated task of lower rank but never before its predecessors; :class:`PeftCostModel` computes this
    order once per graph. Several jobs are merged by the running minimum of ``rank_oct`` along that order
    (it is non-increasing, so each job keeps its own order).

PE choice
    Insertion-based earliest finish as in HEFT, but the PE minimising ``EFT(t, p) + OCT(t, p)`` (the
    optimistic EFT) wins; ties go to the shorter duration, then the lower PE index.

Everything else (insertion, slots, reconfiguration, re-planning in a running system, following the plan)
is HEFT's: :func:`soc_emu.schedulers.heft_plan.plan` and :class:`soc_emu.schedulers.heft.HeftScheduler`.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import ClassVar

from soc_emu.model.taskgraph import TaskGraph
from soc_emu.schedulers.heft import HeftScheduler
from soc_emu.schedulers.heft_plan import RANK_DECIMALS, CostModel, Plan, JobToPlan, plan
from soc_emu.schedulers.registry import register

__all__ = ["PeftCostModel", "PeftScheduler", "optimistic_cost_table", "peft_schedule"]


def optimistic_cost_table(
    costs: CostModel, graph: TaskGraph, candidates: Sequence[Sequence[tuple[float, int]]]
) -> list[list[float]]:
    """``OCT[t][p]`` for every task ``t`` of ``graph`` and every PE index ``p`` (see the module docstring).

    ``candidates[t]`` lists ``(duration, pe)`` of the PEs that can run task ``t``.
    """
    npes = len(costs.platform.pes)
    oct_table = [[0.0] * npes for _ in graph.tasks]
    for t in reversed(graph.topo_order):
        row = oct_table[t]
        for succ, volume in graph.succs[t]:
            mean = costs.mean_comm(volume)
            succ_row = oct_table[succ]
            for p in range(npes):
                best = min(
                    succ_row[q] + w + (costs.transfer(p, q, volume) if q == p else mean) for w, q in candidates[succ]
                )
                if best > row[p]:
                    row[p] = best
    return oct_table


class PeftCostModel(CostModel):
    """HEFT's cost model with PEFT's priority (``rank_oct``, ready-list order) and PE choice (EFT + OCT)."""

    def priorities(
        self, graph: TaskGraph, candidates: Sequence[Sequence[tuple[float, int]]]
    ) -> tuple[list[float], tuple[tuple[float, int], ...], tuple[tuple[float, ...], ...] | None]:
        table = optimistic_cost_table(self, graph, candidates)
        ranks = [sum(table[t][p] for _, p in candidates[t]) / len(candidates[t]) for t in range(len(graph.tasks))]
        topo_pos = [0] * len(graph.tasks)
        for pos, t in enumerate(graph.topo_order):
            topo_pos[t] = pos
        # Ready list: always the ready task of highest rank_oct (ties: topological position).
        waiting = [len(p) for p in graph.preds]
        ready = [(-round(ranks[t], RANK_DECIMALS), topo_pos[t], t) for t in graph.entry_tasks]
        heapq.heapify(ready)
        keys: list[tuple[float, int]] = [(0.0, 0)] * len(graph.tasks)
        level = 0.0
        position = 0
        while ready:
            neg_rank, _, t = heapq.heappop(ready)
            level = neg_rank if position == 0 else max(level, neg_rank)  # running minimum of the rank
            keys[t] = (level, position)
            position += 1
            for succ, _ in graph.succs[t]:
                waiting[succ] -= 1
                if waiting[succ] == 0:
                    heapq.heappush(ready, (-round(ranks[succ], RANK_DECIMALS), topo_pos[succ], succ))
        return ranks, tuple(keys), tuple(tuple(row) for row in table)


def peft_schedule(graph: TaskGraph, costs: PeftCostModel, release_us: float = 0.0) -> Plan:
    """Static PEFT of one task graph on an idle platform (the paper's algorithm); keyed by ``0``."""
    return plan([JobToPlan(key=0, graph=graph, release_us=release_us)], costs)


@register
class PeftScheduler(HeftScheduler):
    """PEFT over all unfinished tasks in the system, re-planned on arrivals and PE failures/repairs.

    Takes :class:`~soc_emu.schedulers.heft.HeftScheduler`'s options; only ranks and PE choice differ.
    """

    name: ClassVar[str] = "peft"
    description: ClassVar[str] = "PEFT: optimistic-cost-table order and EFT+OCT PE choice, re-planned per arrival"
    cost_model: ClassVar[type[CostModel]] = PeftCostModel
