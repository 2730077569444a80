"""The planner: choose a mapping per variant from the task graph and the budget.

- ``sequential``: one core with all lanes runs every task; intermediates that fit the activation
  budget stay in its scratchpad, the others are spilled off-chip.
- ``dataflow``: one core per task, every edge a stream; the lane split and each edge's stream mode
  (whole-input ring or chunked partial sums) are the best, by the cost model, that fit the budget.
- ``intar``: any split of the task chain into consecutive groups (one core each, at most
  ``budget.cores``), any lane split, any stream mode per cut, scratchpad-or-spill per internal edge:
  the candidate with the lowest estimated cycles that fits the budget. The sequential and dataflow
  mappings are candidates too, so InTAR is never worse than either by the model's estimate.

Each lane split is planned on the graph padded to its cores' tiles (:func:`hw.kernels.padding.pad_graph`),
so any size works and the estimates include the padding's cost.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from hw.errors import HwError
from hw.kernels.graph import KernelGraph
from hw.planner.cost import estimate
from hw.kernels.padding import pad_graph
from hw.planner.lower import Group, Mapping, check_lanes, cut_modes, lower, out_tile
from hw.planner.plan import Budget, DesignPlan

VARIANTS = ("sequential", "dataflow", "intar")


def _lane_options(graph: KernelGraph, names: tuple[str, ...], B: int, total: int) -> list[int]:
    """Lane counts a core running tasks ``names`` may have (any size: the graph is padded to them)."""
    tasks = {t.name: t for t in graph.tasks}
    options = []
    lanes = B
    while lanes <= total:
        try:
            for n in names:
                check_lanes(tasks[n], lanes, B, "--lanes")
        except HwError:
            pass
        else:
            options.append(lanes)
        lanes *= 2
    return options


def _fit_spills(graph: KernelGraph, mapping: Mapping, budget: Budget, variant: str) -> DesignPlan | None:
    """Lower ``mapping``; spill the largest scratchpad intermediates until the activation buffers fit."""
    tasks = {t.name: t for t in graph.tasks}
    internal = [name for g in mapping.groups for name in g.tasks[:-1] if not graph.weight_consumers(name)]
    spilled: set[str] = set()
    while True:
        candidate = Mapping(mapping.groups, mapping.cuts, frozenset(spilled))
        try:
            plan = lower(graph, candidate, budget, variant)
        except HwError as error:
            if error.source != "mapping":
                raise
            return None      # this grouping cannot carry the kernel's edges (see lower)
        if plan.wbuf_bytes > budget.weight_cap:
            return None      # weight buffers do not shrink by spilling activations
        if plan.buffer_bytes <= budget.buffer_bytes:
            plan.estimate = estimate(plan)
            plan.decisions.update({"mapping": candidate.describe(), "spilled": sorted(spilled),
                                   "buffer_bytes": plan.buffer_bytes})
            return plan
        remaining = [n for n in internal if n not in spilled]
        if not remaining:
            return None
        spilled.add(max(remaining, key=lambda n: tasks[n].out_elems))


def _partitions(n: int, max_groups: int):
    """Ways to cut a chain of ``n`` tasks into at most ``max_groups`` consecutive groups."""
    for cuts in itertools.product((False, True), repeat=n - 1):
        groups, current = [], [0]
        for i, cut in enumerate(cuts):
            if cut:
                groups.append(tuple(current))
                current = []
            current.append(i + 1)
        groups.append(tuple(current))
        if len(groups) <= max_groups:
            yield groups


def _candidates(graph: KernelGraph, budget: Budget, partitions) -> list[DesignPlan]:
    """Every mapping over ``partitions`` that uses exactly the budget's lanes and fits its buffers.

    Raises HwError naming ``--lanes`` when no lane split exists at all (so the budget is not at fault).
    """
    names = [t.name for t in graph.tasks]
    B = budget.words_per_cycle
    plans = []
    any_split = False
    for partition in partitions:
        group_names = [tuple(names[i] for i in group) for group in partition]
        options = [_lane_options(graph, g, B, budget.lanes) for g in group_names]
        for lanes in itertools.product(*options):
            if sum(lanes) != budget.lanes:   # every variant uses exactly the budget's MAC lanes
                continue
            any_split = True
            modes = [cut_modes(graph, graph.task(g[0]), before[-1])
                     for before, g in zip(group_names, group_names[1:])]
            tiles = {name: out_tile(graph.task(name), l) for g, l in zip(group_names, lanes) for name in g}
            padded = pad_graph(graph, tiles, B)
            for cuts in itertools.product(*modes):
                mapping = Mapping(tuple(Group(g, l) for g, l in zip(group_names, lanes)), tuple(cuts))
                plan = _fit_spills(padded, mapping, budget, "")
                if plan is not None:
                    plans.append(plan)
    if not any_split:
        raise HwError(f"{budget.lanes} lanes cannot be split into power-of-two cores of at least "
                      f"{B} lanes (the off-chip words per cycle)", source="--lanes")
    return plans


def _variant_partitions(graph: KernelGraph, variant: str, budget: Budget) -> list:
    """The task groupings a variant may use: one group, one group per task, or any (InTAR)."""
    n = len(graph.tasks)
    if variant == "sequential":
        return [[tuple(range(n))]]
    if variant == "dataflow":
        return [[(i,) for i in range(n)]]
    return list(_partitions(n, budget.cores))


def _best(plans: list[DesignPlan]) -> DesignPlan:
    # lowest estimate; ties: more lanes in use, then fewer cores
    return min(plans, key=lambda p: (p.estimate["cycles"], -p.total_lanes, len(p.cores)))


def plan_design(graph: KernelGraph, variant: str, budget: Budget) -> DesignPlan:
    """The :class:`DesignPlan` of ``variant`` for ``graph`` under ``budget``."""
    if variant not in VARIANTS:
        raise HwError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}", source="--variant")
    B = budget.words_per_cycle
    n = len(graph.tasks)
    if variant == "sequential":
        for task in graph.tasks:
            check_lanes(task, budget.lanes, B, "--lanes")
    elif variant == "dataflow" and n > budget.cores:
        raise HwError(f"dataflow needs one core per task ({n}), budget allows {budget.cores}", source="--cores")
    plans = _candidates(graph, budget, _variant_partitions(graph, variant, budget))
    if not plans:
        unlimited = replace(budget, weight_bytes=1 << 40)
        if _candidates(graph, unlimited, _variant_partitions(graph, variant, budget)):
            raise HwError(f"no {variant} design of {graph.name} fits {budget.weight_cap} weight-buffer bytes "
                          f"with {budget.lanes} lanes", source="--weight-bytes")
        raise HwError(f"no {variant} design of {graph.name} fits {budget.buffer_bytes} activation bytes "
                      f"with {budget.lanes} lanes", source="--buffer-bytes")
    best = _best(plans)
    best.variant = variant
    best.decisions["candidates"] = len(plans)
    return best
