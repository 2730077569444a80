"""HEFT planning (Topcuoglu, Hariri & Wu 2002), independent of the engine.

This module turns task graphs, a platform's costs and the PE slots' existing commitments into a plan:
for every task still to be placed, a PE, a slot of that PE, a planned start and a planned finish. The
streaming scheduler in :mod:`soc_emu.schedulers.heft` calls it on every arrival; tests call it directly
on a single graph (static HEFT).

Cost model (:class:`CostModel`)
    * Duration of a task on a PE: the PE's nominal execution time of the kernel plus its launch overhead,
      plus, on a PE with a reconfiguration time (FPGA regions), that time whenever the slot held another
      kernel before the task. Ranks ignore reconfigurations (they depend on the placement).
    * Mean execution time ``w_bar`` (for ranks): the mean duration over the PEs that can run the kernel
      (each PE counts once, whatever its capacity; PEs that cannot run it are left out).
    * Mean communication cost ``c_bar`` (for ranks): ``0`` for an edge carrying no data, else
      ``mean latency + volume / mean bandwidth``, both means taken over all ordered pairs of *distinct* PEs
      of the platform (the paper's ``L_bar + data / B_bar``). An infinite bandwidth counts as infinite in
      the mean; a platform with one PE has no communication.
    * Communication in the EFT step uses the real link of the PE pair, exactly as
      :meth:`~soc_emu.model.platform.Platform.transfer_time` computes it (0 on the same PE when the
      platform's same-PE link is free).

Ranks and order
    ``rank_u(t) = w_bar(t) + max over successors s of (c_bar(t, s) + rank_u(s))``. Tasks are planned in
    decreasing ``rank_u``; ranks are compared after rounding to 1e-6 us so that values equal on paper but
    not in floating point (Topcuoglu's t3 and t4, both 80) tie. Ties go to the older job (lower job
    position in the input), then to the task earlier in the graph's topological order, which also keeps
    a predecessor before its successor when a zero-cost task has the same rank. Several jobs are either
    merged into one rank order (``job_order="rank"``, HEFT on the union of the graphs) or planned job by
    job, oldest first (``job_order="arrival"``); see :func:`plan`.

Placement (insertion-based EFT)
    For each candidate PE the data-ready time is the latest ``finish(pred) + transfer(pred PE, PE)``
    (and not before the job's release or the planning floor ``now``). On each slot of the PE, the task
    takes the earliest idle gap that starts at or after the data-ready time and is long enough; a PE with
    capacity ``k`` has ``k`` independent slot timelines. The candidate with the earliest finish wins;
    ties go to the shorter duration, then the lower PE index, then the lower slot index. On a PE with a
    reconfiguration time a task is only appended after the slot's last interval (inserting it earlier
    would change whether the following task needs a reconfiguration), and a slot that already holds the
    kernel saves the reconfiguration.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from soc_emu.errors import SocEmuError
from soc_emu.model.platform import Platform, link_transfer_time
from soc_emu.model.taskgraph import TaskGraph
from soc_emu.schedulers.estimates import MeanCosts, upward_ranks

__all__ = ["JOB_ORDERS", "RANK_DECIMALS", "CostModel", "GraphPlanInfo", "JobToPlan", "Placement", "Plan", "SlotTimelines", "heft_schedule", "plan", "upward_ranks"]

#: Ways to interleave the tasks of several jobs in one plan (see :func:`plan`).
JOB_ORDERS: tuple[str, ...] = ("rank", "arrival")

#: Ranks are rounded to this many decimals (of a microsecond) before ordering; see the module docstring.
RANK_DECIMALS = 6


class Placement(NamedTuple):
    """Where and when the plan runs a task."""

    pe: int
    slot: int
    start_us: float
    finish_us: float


@dataclass(frozen=True, slots=True)
class GraphPlanInfo:
    """Per-graph data HEFT needs on every plan, computed once per (platform, graph).

    Attributes
    ----------
    ranks:
        Upward rank of each task (us).
    order:
        Task indices in HEFT order: decreasing rounded rank, then topological position.
    order_keys:
        Per task: ``(-rounded rank, topological position)``, the key ``order`` is sorted by.
    candidates:
        Per task: ``(duration_us, pe)`` of every PE that can run it, sorted (fastest first, then PE index).
    preds:
        Per task: ``(predecessor, volume)`` pairs (the graph's own tuple).
    kernels:
        Per task: its kernel.
    bias:
        Per task, per PE index: a cost added to the finish time when choosing the task's PE (PEFT's
        optimistic cost table); ``None`` for plain earliest finish (HEFT).
    """

    ranks: tuple[float, ...]
    order: tuple[int, ...]
    order_keys: tuple[tuple[float, int], ...]
    candidates: tuple[tuple[tuple[float, int], ...], ...]
    preds: tuple[tuple[tuple[int, float], ...], ...]
    kernels: tuple[str, ...]
    bias: tuple[tuple[float, ...], ...] | None = None


class CostModel:
    """Execution and communication costs of one platform, as HEFT sees them (see the module docstring).

    Per-graph ranks and candidate lists are cached by graph identity, so a stream of jobs of the same few
    applications pays for them once.
    """

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        n = len(platform.pes)
        #: Per PE pair: latency and bandwidth of the link (the engine's transfer-time formula uses them).
        self.latency: list[list[float]] = [[platform.link(i, j).latency_us for j in range(n)] for i in range(n)]
        self.bandwidth: list[list[float]] = [[platform.link(i, j).bandwidth for j in range(n)] for i in range(n)]
        #: ``w_bar``, ``c_bar`` and ranks: the one home of these estimates (:mod:`soc_emu.schedulers.estimates`).
        self.means = MeanCosts(platform)
        self.mean_latency_us = self.means.mean_latency_us
        self.mean_bandwidth = self.means.mean_bandwidth
        #: Per PE: time to load a different kernel into a slot (FPGA regions); 0 for most PEs.
        self.reconfig: list[float] = [pe.reconfig_time_us for pe in platform.pes]
        self._graphs: dict[int, tuple[TaskGraph, GraphPlanInfo]] = {}

    def duration(self, kernel: str, pe: int) -> float:
        """Nominal time ``kernel`` occupies a slot of PE ``pe`` (execution + launch overhead; a
        reconfiguration, when needed, comes on top)."""
        proc = self.platform.pes[pe]
        return proc.exec_times_us[kernel] + proc.launch_overhead_us

    def mean_comm(self, volume: float) -> float:
        """Mean communication cost of an edge carrying ``volume`` (for ranks; :meth:`MeanCosts.mean_comm`)."""
        return self.means.mean_comm(volume)

    def transfer(self, src_pe: int, dst_pe: int, volume: float) -> float:
        """Time to move ``volume`` from ``src_pe`` to ``dst_pe`` (same formula as the platform's)."""
        if volume <= 0:
            return 0.0
        return link_transfer_time(self.latency[src_pe][dst_pe], self.bandwidth[src_pe][dst_pe], volume)

    def info(self, graph: TaskGraph) -> GraphPlanInfo:
        """The (cached) ranks, order and candidate PEs of ``graph``."""
        hit = self._graphs.get(id(graph))
        if hit is not None and hit[0] is graph:
            return hit[1]
        info = self._build(graph)
        self._graphs[id(graph)] = (graph, info)
        return info

    def _build(self, graph: TaskGraph) -> GraphPlanInfo:
        pes = self.platform.pes
        candidates: list[tuple[tuple[float, int], ...]] = []
        for task in graph.tasks:
            cands = sorted((self.duration(task.kernel, pe.index), pe.index) for pe in pes if pe.supports(task.kernel))
            if not cands:
                raise SocEmuError(
                    f"task {task.name!r} (kernel {task.kernel!r}) cannot run on any PE of platform "
                    f"{self.platform.name!r}",
                    source=f"{graph.source or graph.name}: {task.name}",
                )
            candidates.append(tuple(cands))
        ranks, keys, bias = self.priorities(graph, candidates)
        order = tuple(sorted(range(len(graph.tasks)), key=keys.__getitem__))
        return GraphPlanInfo(
            ranks=tuple(ranks),
            order=order,
            order_keys=keys,
            candidates=tuple(candidates),
            preds=graph.preds,
            kernels=tuple(task.kernel for task in graph.tasks),
            bias=bias,
        )

    def priorities(
        self, graph: TaskGraph, candidates: Sequence[Sequence[tuple[float, int]]]
    ) -> tuple[list[float], tuple[tuple[float, int], ...], tuple[tuple[float, ...], ...] | None]:
        """Ranks, order keys and PE-selection bias of ``graph``'s tasks (HEFT: upward ranks, no bias).

        Subclasses (PEFT) override this; the keys must sort every task after its predecessors.
        """
        ranks = self.means.ranks(graph)
        topo_pos = [0] * len(graph.tasks)
        for pos, t in enumerate(graph.topo_order):
            topo_pos[t] = pos
        keys = tuple((-round(ranks[t], RANK_DECIMALS), topo_pos[t]) for t in range(len(graph.tasks)))
        return ranks, keys, None


@dataclass
class SlotTimelines:
    """Busy intervals of every slot of every PE, kept sorted and non-overlapping.

    ``starts[pe][slot]`` and ``ends[pe][slot]`` are parallel sorted lists. Both stay sorted because
    intervals never overlap, which lets a gap search skip finished intervals with one bisection.
    ``kernel[pe][slot]`` is the kernel a slot holds after its last interval (None: unknown or empty); it
    matters only on PEs with a reconfiguration time.
    """

    starts: list[list[list[float]]]
    ends: list[list[list[float]]]
    kernel: list[list[str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.kernel:
            self.kernel = [[None] * len(slots) for slots in self.starts]

    @classmethod
    def empty(cls, capacities: Iterable[int]) -> SlotTimelines:
        """Timelines with no commitments for PEs of the given capacities."""
        caps = list(capacities)
        return cls([[[] for _ in range(c)] for c in caps], [[[] for _ in range(c)] for c in caps])

    @classmethod
    def for_platform(cls, platform: Platform) -> SlotTimelines:
        """Empty timelines, one per slot of each of ``platform``'s PEs."""
        return cls.empty(pe.capacity for pe in platform.pes)

    def occupy(self, pe: int, slot: int, start: float, end: float) -> None:
        """Mark ``[start, end)`` busy on a slot; it must not overlap an existing interval."""
        starts, ends = self.starts[pe][slot], self.ends[pe][slot]
        k = bisect_right(ends, start)
        if k < len(starts) and (starts[k] < end or starts[k] <= start):
            raise ValueError(f"interval [{start}, {end}) overlaps [{starts[k]}, {ends[k]}) on PE {pe} slot {slot}")
        starts.insert(k, start)
        ends.insert(k, end)

    def earliest_start(self, pe: int, slot: int, ready: float, duration: float) -> float:
        """Start of the earliest idle gap of length ``duration`` at or after ``ready`` on a slot."""
        return _earliest_gap(self.starts[pe][slot], self.ends[pe][slot], ready, duration)[0]


def _earliest_gap(starts: list[float], ends: list[float], ready: float, duration: float) -> tuple[float, int]:
    """Earliest start >= ``ready`` where ``duration`` fits, and the index the interval would take.

    An interval ``[s, e)`` blocks a start ``t`` when ``s < t + duration and t < e``, and also when
    ``s <= t < e`` for a zero-duration task (it still needs the slot free at ``t``).
    """
    k = bisect_right(ends, ready)
    t = ready
    n = len(starts)
    while k < n and (starts[k] < t + duration or starts[k] <= t):
        if ends[k] > t:
            t = ends[k]
        k += 1
    return t, k


@dataclass(slots=True)
class JobToPlan:
    """One job (an instance of a task graph) as input to :func:`plan`.

    Per task, ``pe`` and ``finish_us`` (indexed by task) tell what is already decided:

    * fixed (done or running): ``finish_us[t]`` is a number (actual or expected finish) and ``pe[t]`` the
      PE it ran / runs on; the slot it occupies must already be in the timelines;
    * pinned (queued on a PE, not started): ``pe[t] >= 0`` and ``finish_us[t]`` is nan: planned on that
      PE only;
    * free: ``pe[t] < 0`` (finish nan): planned on any PE.
    """

    key: Hashable
    graph: TaskGraph
    release_us: float = 0.0
    pe: Sequence[int] | None = None  #: None: every task free
    finish_us: Sequence[float] | None = None  #: None: no task fixed


@dataclass
class Plan:
    """The result of :func:`plan`: per job key, one :class:`Placement` per task (None when the task was
    fixed on input or could not be placed, e.g. every PE able to run it is excluded), and the order in
    which the tasks were placed (``(job key, task)``; predecessors always come before successors)."""

    placements: dict[Hashable, list[Placement | None]] = field(default_factory=dict)
    sequence: list[tuple[Hashable, int]] = field(default_factory=list)

    def __getitem__(self, key: Hashable) -> list[Placement | None]:
        return self.placements[key]

    @property
    def makespan_us(self) -> float:
        """Latest planned finish (0 for an empty plan)."""
        return max((p.finish_us for ps in self.placements.values() for p in ps if p is not None), default=0.0)


def plan(
    jobs: Sequence[JobToPlan],
    costs: CostModel,
    timelines: SlotTimelines | None = None,
    *,
    floor_us: float = 0.0,
    pinned_first: Sequence[tuple[int, int]] = (),
    excluded_pes: Iterable[int] = (),
    job_order: str = "rank",
    pinned_hold_slot: bool = True,
) -> Plan:
    """Plan every pinned and free task of ``jobs`` with insertion-based HEFT.

    Parameters
    ----------
    jobs:
        The jobs; their position in this sequence breaks rank ties (earlier first).
    costs:
        The platform's cost model (holds the per-graph rank cache).
    timelines:
        Existing commitments of the slots (running tasks); updated in place with the new placements.
        None: empty timelines.
    floor_us:
        No task is planned to start before this time (the current time when re-planning a running system).
    pinned_first:
        ``(job position, task)`` pairs planned first, in this order, before everything else (queued tasks,
        in their PEs' dispatch order). Their predecessors must be fixed or listed earlier. Pinned tasks not
        listed here are planned in rank order like free ones, on their PE.
    excluded_pes:
        PEs that must not receive free tasks (failed ones). Pinned tasks stay on their PE regardless.
    pinned_hold_slot:
        A pinned task occupies its slot from the moment the slot frees (the end of the interval before it,
        or the floor), not only from its planned start: an ``"in_order"`` engine queue gives the slot to
        its head as soon as it frees and the task waits there for its inputs. No other task is planned
        into that wait.
    job_order:
        How tasks of different jobs are interleaved. ``"rank"`` (HEFT on the union of the graphs, as if
        they hung off one zero-cost entry): all tasks in decreasing rank, ties to the earlier job.
        ``"arrival"``: job by job in input order, each job's tasks in decreasing rank, so a job is planned
        around the jobs before it and a newcomer never pushes an older job's tail back.

    Returns
    -------
    Plan
        Keyed by :attr:`JobToPlan.key`.
    """
    platform = costs.platform
    if timelines is None:
        timelines = SlotTimelines.for_platform(platform)
    usable = [True] * len(platform.pes)
    for pe in excluded_pes:
        usable[pe] = False
    latency, bandwidth, reconfig = costs.latency, costs.bandwidth, costs.reconfig
    all_starts, all_ends, all_kernels = timelines.starts, timelines.ends, timelines.kernel
    infos = [costs.info(job.graph) for job in jobs]
    out: list[list[Placement | None]] = [[None] * len(job.graph.tasks) for job in jobs]
    nan = math.nan
    sequence: list[tuple[Hashable, int]] = []

    # Work list: pinned_first in order, then the rest by (rank, job position, topological position) or,
    # for job_order="arrival", by (job position, rank, topological position).
    if job_order not in JOB_ORDERS:
        raise ValueError(f"job_order must be one of {JOB_ORDERS}, got {job_order!r}")
    by_job = job_order == "arrival"
    listed = set(pinned_first)
    rest: list[tuple[float, int, int, int]] = []
    for j, (job, info) in enumerate(zip(jobs, infos)):
        fin = job.finish_us
        keys = info.order_keys
        for t in info.order:
            if fin is not None and fin[t] == fin[t]:
                continue  # fixed
            if (j, t) in listed:
                continue
            key = keys[t]
            rest.append((j, key[0], key[1], t) if by_job else (key[0], j, key[1], t))
    rest.sort()
    work = list(pinned_first)
    work += [(e[0], e[3]) for e in rest] if by_job else [(e[1], e[3]) for e in rest]

    for j, t in work:
        job = jobs[j]
        info = infos[j]
        task_kernel = info.kernels
        fin = job.finish_us
        pes_of = job.pe
        placed = out[j]
        floor = job.release_us if job.release_us > floor_us else floor_us
        # Predecessors' (pe, finish, volume); lower bound of data readiness on any PE.
        inputs: list[tuple[int, float, float]] = []
        lower = floor
        unplaceable = False
        for src, volume in info.preds[t]:
            f = fin[src] if fin is not None else nan
            if f == f:
                src_pe = pes_of[src]  # type: ignore[index]
            else:
                p = placed[src]
                if p is None:
                    unplaceable = True
                    break
                src_pe, f = p.pe, p.finish_us
            inputs.append((src_pe, f, volume))
            if f > lower:
                lower = f
        if unplaceable:
            if (j, t) in listed:
                raise ValueError(f"pinned task {t} of job {job.key!r} is listed before an unplanned predecessor")
            continue  # a predecessor could not be placed (no usable PE): neither can this task
        pinned_pe = pes_of[t] if pes_of is not None else -1
        # The PE is chosen by finish + bias (bias 0: earliest finish; PEFT: + optimistic cost).
        bias_row = info.bias[t] if info.bias is not None else None
        b = 0.0
        best_score = best_finish = math.inf
        best_pe = best_slot = best_k = -1
        best_start = 0.0
        for duration, pe in info.candidates[t]:
            if pinned_pe >= 0:
                if pe != pinned_pe:
                    continue
            elif not usable[pe]:
                continue
            if bias_row is not None:
                b = bias_row[pe]
            if lower + duration + b >= best_score:
                if bias_row is None:
                    break  # candidates are sorted by duration: none further can finish earlier
                continue
            ready = floor
            for src_pe, f, volume in inputs:
                if volume > 0:
                    f += link_transfer_time(latency[src_pe][pe], bandwidth[src_pe][pe], volume)
                if f > ready:
                    ready = f
            if ready + duration + b >= best_score:
                continue
            slot = 0
            if reconfig[pe] > 0:
                # Reconfigurable PE: append only (an insertion would change the next task's reconfiguration).
                kernel = task_kernel[t]
                for starts, ends, held in zip(all_starts[pe], all_ends[pe], all_kernels[pe]):
                    start = ends[-1] if ends and ends[-1] > ready else ready
                    finish = start + duration + (0.0 if held == kernel else reconfig[pe])
                    if finish + b < best_score:
                        best_finish, best_score = finish, finish + b
                        best_pe, best_slot, best_start, best_k = pe, slot, start, len(starts)
                    slot += 1
                continue
            for starts, ends in zip(all_starts[pe], all_ends[pe]):
                # Inline of _earliest_gap (hot loop).
                k = bisect_right(ends, ready)
                start = ready
                n = len(starts)
                while k < n and (starts[k] < start + duration or starts[k] <= start):
                    if ends[k] > start:
                        start = ends[k]
                    k += 1
                if start + duration + b < best_score:
                    best_finish = start + duration
                    best_score = best_finish + b
                    best_pe, best_slot, best_start, best_k = pe, slot, start, k
                    if start == ready:
                        break  # no later slot of this PE can do better
                slot += 1
        if best_pe < 0:
            continue
        slot_starts, slot_ends = all_starts[best_pe][best_slot], all_ends[best_pe][best_slot]
        busy_from = best_start
        if pinned_pe >= 0 and pinned_hold_slot:
            # An in-order queue hands the slot to its head as soon as it frees; the head then waits there.
            busy_from = slot_ends[best_k - 1] if best_k > 0 else floor
        slot_starts.insert(best_k, busy_from)
        slot_ends.insert(best_k, best_finish)
        if reconfig[best_pe] > 0:
            all_kernels[best_pe][best_slot] = task_kernel[t]
        placed[t] = Placement(best_pe, best_slot, best_start, best_finish)
        sequence.append((job.key, t))
    return Plan({job.key: placed for job, placed in zip(jobs, out)}, sequence)


def heft_schedule(graph: TaskGraph, costs: CostModel, release_us: float = 0.0) -> Plan:
    """Static HEFT of one task graph on an idle platform (the paper's algorithm); keyed by ``0``."""
    return plan([JobToPlan(key=0, graph=graph, release_us=release_us)], costs)
