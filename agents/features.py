"""Observation features of the learned scheduler, computed from a :class:`~soc_emu.engine.view.SystemView`.

Everything here is numpy (no torch), so the gymnasium environment can use it without the model.

An :class:`Observation` describes every *unfinished* task of the jobs in the system (waiting, ready,
queued or running), the jobs, the PEs and the DAG edges between unfinished tasks, as flat arrays:

* ``nodes``  ``[N, NODE_DIM]`` per task: execution time per PE type, upward rank, successors and
  descendants, input/output data volumes, status, waiting time, and, for ready tasks, the earliest finish
  time over the PEs (the EFT estimate) and whether the PE achieving it is idle now;
* ``jobs``   ``[J, JOB_DIM]`` per job: age, remaining work and critical path, progress, ready and running
  task counts;
* ``pes``    ``[P, PE_DIM]`` per PE: type, down flag, free slots, time until a slot is free, queue length
  (feature set 2 adds: reconfiguration time, launch overhead, queued work per slot, time since the last
  observed repair, observed failure rate);
* ``edges``  ``[E, 2]`` (parent row, child row) between unfinished tasks;
* ``node_job`` ``[N]`` job row of every task; ``candidates`` the rows of the tasks the policy may pick and
  ``candidate_pe`` the PE the earliest-finish-time rule maps each one to;
* ``pair_x`` (PE head only) per candidate, ``[offered PEs, PAIR_DIM]`` per (task, PE) pair: slot time,
  data-ready, start and finish estimates (feature set 2 adds: whether an FPGA region holds the kernel, the
  reconfiguration it would pay, launch overhead, queue length, time until a slot is free, contention (ready
  tasks whose earliest finish is on that PE, per slot), and on reconfigurable PEs how many unstarted tasks
  use this kernel and the kernels loaded there, i.e. what a reconfiguration would evict).

Feature sets
    A checkpoint records the feature set it was trained with (:data:`FEATURE_SETS`); set 1 (the shipped
    checkpoint's) is a prefix of set 2 in every array, so one featurizer computes both. Set 2's columns are
    what the ``srpt_eft`` rule ignores: it only sees finish-time estimates, not what a reconfiguration
    evicts, how contended a PE is, or how often it has failed.

Which ready tasks are candidates depends on the binding (see :class:`DecisionRule`): under on-ready
binding (the agent's default) every ready task is; under late binding only those whose earliest estimated
finish is achieved by a PE idle now, so a task never starts on a slow core when a fast accelerator frees
up sooner.

Times are log-scaled (``log1p(t / TIME_SCALE_US)``) because they span four orders of magnitude (a
Viterbi decoder takes 2 us on its accelerator and 1828 us on a little core).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from soc_emu.engine.view import Binding, SystemView, TaskRef, TaskStatus
from soc_emu.model.platform import PE_TYPES, Platform
from soc_emu.model.taskgraph import TaskGraph
from soc_emu.schedulers.estimates import LinkArrays, MeanCosts, needs_reconfig, slot_free_times, slot_time, task_cost

#: Time scale of the log transform of every time feature (us).
TIME_SCALE_US = 10.0
#: PE type vocabulary: the documented types, then one bucket for any other type.
TYPE_VOCAB: tuple[str, ...] = (*PE_TYPES, "other")
NUM_TYPES = len(TYPE_VOCAB)

#: Node feature layout (sizes): per-type exec time + per-type support flag, then scalar features.
_NODE_SCALARS = (
    "min_exec",
    "mean_exec",
    "support_fraction",
    "rank_u",
    "num_succ",
    "descendant_fraction",
    "volume_in",
    "volume_out",
    "waiting",
    "ready",
    "queued",
    "running",
    "wait_time",
    "running_remaining",
    "eft_from_now",
    "eft_best_idle",
    "exec_on_best",
    "candidate",
)
NODE_DIM = 2 * NUM_TYPES + len(_NODE_SCALARS)
#: Column of each scalar node feature.
NODE_COL = {name: 2 * NUM_TYPES + i for i, name in enumerate(_NODE_SCALARS)}
_JOB_SCALARS = (
    "age",
    "remaining_work",
    "remaining_critical_path",
    "remaining_fraction",
    "num_unfinished",
    "ready_count",
    "running_count",
    "total_work",
)
JOB_DIM = len(_JOB_SCALARS)
#: Column of each job feature.
JOB_COL = {name: i for i, name in enumerate(_JOB_SCALARS)}
GLOBAL_DIM = 5
#: Per-PE columns of feature set 1, then those feature set 2 appends.
_PE_SCALARS_V1 = ("down", "free_slots", "until_free", "queue_length", "idle", "capacity")
_PE_SCALARS_V2 = ("reconfig_time", "launch_overhead", "queued_work_per_slot", "since_repair", "failure_rate")
#: Column of each scalar PE feature (after the type one-hot).
PE_COL = {name: NUM_TYPES + i for i, name in enumerate(_PE_SCALARS_V1 + _PE_SCALARS_V2)}
#: Per-(task, PE) pair columns of feature set 1, then those feature set 2 appends.
_PAIR_SCALARS_V1 = ("slot_time", "data_ready", "start", "finish", "finish_over_best", "is_eft_pe")
_PAIR_SCALARS_V2 = ("kernel_loaded", "reconfig_cost", "launch_overhead", "queue_length", "until_free", "contention",
                    "kernel_demand", "loaded_demand")
#: Column of each pair feature.
PAIR_COL = {name: i for i, name in enumerate(_PAIR_SCALARS_V1 + _PAIR_SCALARS_V2)}


@dataclass(frozen=True)
class FeatureSet:
    """The widths of one version of the observation (what a checkpoint's network was built for)."""

    version: int
    node_dim: int
    job_dim: int
    pe_dim: int
    global_dim: int
    pair_dim: int

    def sizes(self) -> dict[str, int]:
        """The widths as :meth:`agents.model.ModelConfig.feature_sizes` names them."""
        return {"node_dim": self.node_dim, "job_dim": self.job_dim, "pe_dim": self.pe_dim,
                "global_dim": self.global_dim, "pair_dim": self.pair_dim}


#: Every feature set this version computes; each one's arrays are a prefix of the next one's.
FEATURE_SETS: dict[int, FeatureSet] = {
    1: FeatureSet(1, NODE_DIM, JOB_DIM, NUM_TYPES + len(_PE_SCALARS_V1), GLOBAL_DIM, len(_PAIR_SCALARS_V1)),
    2: FeatureSet(2, NODE_DIM, JOB_DIM, NUM_TYPES + len(PE_COL), GLOBAL_DIM, len(PAIR_COL)),
}
LATEST_FEATURE_SET = max(FEATURE_SETS)
PE_DIM = FEATURE_SETS[LATEST_FEATURE_SET].pe_dim
#: Features of a (task, PE) pair for the PE head.
PAIR_DIM = FEATURE_SETS[LATEST_FEATURE_SET].pair_dim


def log_time(t: np.ndarray | float) -> np.ndarray | float:
    """``log1p(max(t, 0) / TIME_SCALE_US)``: the transform of every time feature."""
    return np.log1p(np.maximum(t, 0.0) / TIME_SCALE_US)


def type_index(pe_type: str) -> int:
    """Position of a PE type in :data:`TYPE_VOCAB` (unknown types share the last bucket)."""
    try:
        return TYPE_VOCAB.index(pe_type)
    except ValueError:
        return NUM_TYPES - 1


class PlatformTables:
    """Vectorised costs of one platform: per-kernel execution-time rows and link tables.

    Transfers, data-ready times, ``w_bar``, ``c_bar`` and upward ranks come from
    :mod:`soc_emu.schedulers.estimates` (``links``, ``means``), the formulas HEFT and ETF use.
    """

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        n = len(platform.pes)
        self.num_pes = n
        self.links = LinkArrays(platform)
        self.means = MeanCosts(platform)
        self.launch = np.array([pe.launch_overhead_us for pe in platform.pes])
        self.reconfig = np.array([pe.reconfig_time_us for pe in platform.pes])
        self.reconfig_pes = [i for i, pe in enumerate(platform.pes) if pe.reconfig_time_us > 0]
        self.reconfigurable = self.reconfig > 0
        self.types = np.array([type_index(pe.pe_type) for pe in platform.pes])
        self.capacity = np.array([pe.capacity for pe in platform.pes], dtype=np.float64)
        self.type_onehot = np.zeros((n, NUM_TYPES))
        self.type_onehot[np.arange(n), self.types] = 1.0
        self._exec: dict[str, np.ndarray] = {}
        self.kernel_ids: dict[str, int] = {}

    def exec_row(self, kernel: str) -> np.ndarray:
        """Duration of ``kernel`` on every PE without reconfiguration (:func:`~soc_emu.schedulers.estimates.
        slot_time`: execution + launch overhead; inf where unsupported)."""
        row = self._exec.get(kernel)
        if row is None:
            row = np.array([slot_time(pe, kernel) for pe in self.platform.pes])
            self._exec[kernel] = row
        return row

    def kernel_id(self, kernel: str) -> int:
        """A small integer per kernel name (numbered in order of first use)."""
        return self.kernel_ids.setdefault(kernel, len(self.kernel_ids))

    def mean_comm(self, volume: float) -> float:
        """HEFT's mean transfer cost ``c_bar`` of ``volume`` (:meth:`MeanCosts.mean_comm`, for ranks)."""
        return self.means.mean_comm(volume)


@dataclass(frozen=True)
class GraphStatics:
    """Per-(graph, platform) features that never change during a run (computed once, cached)."""

    exec: np.ndarray  #: [n, P] durations (inf where unsupported)
    mean_exec: np.ndarray  #: [n] mean duration over supporting PEs
    static_x: np.ndarray  #: [n, 2*NUM_TYPES + 8] the static part of the node features
    rank_u: np.ndarray  #: [n] upward rank (us)
    parents: np.ndarray  #: [E] parent task of every edge
    children: np.ndarray  #: [E] child task of every edge
    total_work: float
    kernels: np.ndarray  #: [n] kernel id of every task (:meth:`PlatformTables.kernel_id`)


def graph_statics(graph: TaskGraph, tables: PlatformTables) -> GraphStatics:
    """Compute the static features of ``graph`` on the platform of ``tables``."""
    n = len(graph.tasks)
    exec_ = np.stack([tables.exec_row(t.kernel) for t in graph.tasks])
    supported = np.isfinite(exec_)
    count = supported.sum(axis=1)
    w_bar, rank_list = tables.means.graph(graph)
    mean_exec = np.where(np.isfinite(w_bar), w_bar, 0.0)
    min_exec = np.where(supported, exec_, np.inf).min(axis=1)
    min_exec = np.where(np.isfinite(min_exec), min_exec, 0.0)
    per_type = np.zeros((n, NUM_TYPES))
    type_flag = np.zeros((n, NUM_TYPES))
    for k in range(NUM_TYPES):
        cols = tables.types == k
        if cols.any():
            sub = np.where(supported[:, cols], exec_[:, cols], np.inf).min(axis=1)
            ok = np.isfinite(sub)
            per_type[ok, k] = log_time(sub[ok])
            type_flag[ok, k] = 1.0
    ranks = np.array(rank_list, dtype=np.float64)
    descendants = [set() for _ in range(n)]
    for t in reversed(graph.topo_order):
        for succ, _ in graph.succs[t]:
            descendants[t].add(succ)
            descendants[t] |= descendants[succ]
    vol_in = np.array([sum(v for _, v in graph.preds[t]) for t in range(n)])
    vol_out = np.array([sum(v for _, v in graph.succs[t]) for t in range(n)])
    scalars = np.stack(
        [
            log_time(min_exec),
            log_time(mean_exec),
            count / tables.num_pes,
            log_time(ranks),
            np.log1p([len(graph.succs[t]) for t in range(n)]),
            np.array([len(d) for d in descendants]) / max(n - 1, 1),
            log_time(np.array([tables.mean_comm(v) for v in vol_in])),
            log_time(np.array([tables.mean_comm(v) for v in vol_out])),
        ],
        axis=1,
    )
    static_x = np.concatenate([per_type, type_flag, scalars], axis=1)
    parents = np.array([e.src for e in graph.edges], dtype=np.int64)
    children = np.array([e.dst for e in graph.edges], dtype=np.int64)
    return GraphStatics(
        exec=exec_,
        mean_exec=mean_exec,
        static_x=static_x,
        rank_u=ranks,
        parents=parents,
        children=children,
        total_work=float(mean_exec.sum()),
        kernels=np.array([tables.kernel_id(t.kernel) for t in graph.tasks], dtype=np.int64),
    )


@dataclass
class Observation:
    """Features of one decision point (see the module docstring). Rows of ``nodes`` follow ``refs``."""

    nodes: np.ndarray
    jobs: np.ndarray
    pes: np.ndarray
    globals_: np.ndarray
    edges: np.ndarray  #: [E, 2] (parent row, child row)
    node_job: np.ndarray
    refs: list[TaskRef]
    candidates: np.ndarray  #: rows of the tasks the policy may pick
    candidate_pe: np.ndarray  #: EFT PE of every candidate
    candidate_finish: np.ndarray  #: estimated finish of every candidate on its EFT PE (us)
    pair_pes: list[np.ndarray] = field(default_factory=list)  #: per candidate: PEs the PE head may choose
    pair_x: list[np.ndarray] = field(default_factory=list)  #: per candidate: [len(pair_pes), PAIR_DIM]


class DecisionRule:
    """Which ready tasks may be picked and where the EFT rule maps them.

    Parameters
    ----------
    binding:
        ``LATE``: a ready task is a candidate when some *idle* PE (up, free slot, empty queue) achieves its
        earliest estimated finish over all up PEs (within ``slack``); it is mapped to that PE.
        ``ON_READY``: every ready task is a candidate, mapped to its earliest-finish PE.
    slack:
        Relative tolerance on "achieves the earliest finish" (0.0: exact ties only).
    pe_slack:
        For the PE head: PEs whose estimated finish is within ``(1 + pe_slack)`` of the best one (and,
        under late binding, idle) are offered.
    """

    def __init__(self, binding: Binding = Binding.ON_READY, slack: float = 0.0, pe_slack: float = 0.5) -> None:
        self.binding = binding
        self.slack = slack
        self.pe_slack = pe_slack


class FailureHistory:
    """What the featurizer has seen of each PE's failures during one run: when it last came back up and how
    many times it went down (transitions between two observed views; a failure and repair both inside one gap
    between decision points go unseen)."""

    def __init__(self, num_pes: int) -> None:
        self.was_down = np.zeros(num_pes, dtype=bool)
        self.last_repair_us = np.zeros(num_pes)  #: run start until a repair is seen
        self.failures = np.zeros(num_pes)

    def update(self, now: float, down: np.ndarray) -> None:
        """Record the down flags of the view at ``now``."""
        self.failures += down & ~self.was_down
        self.last_repair_us = np.where(self.was_down & ~down, now, self.last_repair_us)
        self.was_down = down.copy()

    def since_repair_us(self, now: float) -> np.ndarray:
        """Per PE: time since it was last seen coming back up (since the run started if never)."""
        return now - self.last_repair_us

    def rate_per_ms(self, now: float) -> np.ndarray:
        """Per PE: observed failures per millisecond of run time."""
        return self.failures / max(now / 1000.0, 1.0)


class Featurizer:
    """Turns system views into :class:`Observation` objects, caching per-graph static features.

    One featurizer serves one run (it keeps the :class:`FailureHistory` of the PEs). ``feature_set``
    (:data:`FEATURE_SETS`) chooses the observation's widths; a :class:`~agents.policy.Policy` sets it to its
    network's.
    """

    def __init__(self, platform: Platform, rule: DecisionRule | None = None, *, pair_features: bool = False,
                 feature_set: int = LATEST_FEATURE_SET) -> None:
        self.tables = PlatformTables(platform)
        self.rule = rule or DecisionRule()
        self.pair_features = pair_features
        self.feature_set = feature_set
        self.failures = FailureHistory(self.tables.num_pes)
        self._graphs: dict[int, tuple[TaskGraph, GraphStatics]] = {}
        self._layout_cache: _Layout | None = None

    @property
    def feature_set(self) -> int:
        """The version of the observation this featurizer computes (a key of :data:`FEATURE_SETS`)."""
        return self._feature_set.version

    @feature_set.setter
    def feature_set(self, version: int) -> None:
        self._feature_set = FEATURE_SETS[version]

    def statics(self, graph: TaskGraph) -> GraphStatics:
        """Cached :func:`graph_statics` of ``graph``."""
        hit = self._graphs.get(id(graph))
        if hit is not None and hit[0] is graph:
            return hit[1]
        stat = graph_statics(graph, self.tables)
        self._graphs[id(graph)] = (graph, stat)
        return stat

    # -- PE availability ------------------------------------------------------------------------------
    def pe_available(self, view: SystemView) -> tuple[np.ndarray, np.ndarray]:
        """Per PE: the earliest time a slot is expected to be free (inf when down), and whether it is idle
        (up, a free slot, an empty queue: the only legal target under late binding).

        The estimate is the one ETF and HEFT share (:func:`soc_emu.schedulers.estimates.slot_free_times`);
        PEs without a queue are read directly because that is the common case and it is cheap.
        """
        now = view.now
        avail = np.empty(self.tables.num_pes)
        idle = np.zeros(self.tables.num_pes, dtype=bool)
        for i, state in enumerate(view.pes):
            if state.down:
                avail[i] = math.inf
            elif state.queue:
                avail[i] = slot_free_times(view, i)[0]
            elif state.busy_slots < state.pe.capacity:
                avail[i] = now
                idle[i] = True
            else:
                first = min(state.expected_finish_us)
                avail[i] = first if first > now else now
        return avail, idle

    def cost_rows(self, view: SystemView) -> dict[str, np.ndarray]:
        """Per kernel: nominal slot time on every PE now, including FPGA reconfiguration where no slot
        holds the kernel (as :func:`soc_emu.schedulers.estimates.task_cost`). Built lazily per kernel."""
        return _CostRows(self.tables, view)

    # -- the observation ------------------------------------------------------------------------------
    def _layout(self, jobs: list) -> _Layout:  # type: ignore[type-arg]
        """The concatenated static arrays of the jobs in the system (rebuilt when the job set changes)."""
        key = tuple(job.job_id for job in jobs)
        if self._layout_cache is not None and self._layout_cache.key == key:
            return self._layout_cache
        stats = [self.statics(job.graph) for job in jobs]
        sizes = np.array([len(job.graph.tasks) for job in jobs], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        layout = _Layout(
            key=key,
            offset={job.job_id: int(o) for job, o in zip(jobs, offsets)},
            total=int(sizes.sum()),
            sizes=sizes,
            static_x=np.concatenate([st.static_x for st in stats]),
            mean_exec=np.concatenate([st.mean_exec for st in stats]),
            rank_u=np.concatenate([st.rank_u for st in stats]),
            job_of=np.repeat(np.arange(len(jobs), dtype=np.int64), sizes),
            job_id_of=np.repeat(np.array(key, dtype=np.int64), sizes),
            task_of=np.concatenate([np.arange(k, dtype=np.int64) for k in sizes]),
            parents=np.concatenate([st.parents + o for st, o in zip(stats, offsets)]),
            children=np.concatenate([st.children + o for st, o in zip(stats, offsets)]),
            total_work=np.array([st.total_work for st in stats]),
            kernel_of=np.concatenate([st.kernels for st in stats]),
        )
        self._layout_cache = layout
        return layout

    def observe(self, view: SystemView) -> Observation:
        """Features of the decision point ``view``."""
        now = view.now
        tables = self.tables
        jobs = list(view.jobs.values())
        avail, idle = self.pe_available(view)
        self.failures.update(now, np.fromiter((s.down for s in view.pes), dtype=bool, count=tables.num_pes))
        pes = self._pe_features(view, avail, idle)
        if not jobs:
            return _empty_observation(pes, len(view.ready))
        lay = self._layout(jobs)
        chain = itertools.chain.from_iterable
        status_all = np.fromiter(chain(job.status for job in jobs), dtype=np.int8, count=lay.total)
        live_idx = np.flatnonzero(status_all != TaskStatus.DONE)
        new_index = np.full(lay.total, -1, dtype=np.int64)
        new_index[live_idx] = np.arange(len(live_idx))
        n = len(live_idx)
        st = status_all[live_idx]
        is_wait = st == TaskStatus.WAITING
        is_ready = st == TaskStatus.READY
        is_queued = st == TaskStatus.QUEUED
        is_running = st == TaskStatus.RUNNING
        ready_us = np.fromiter(chain(job.ready_us for job in jobs), dtype=np.float64, count=lay.total)[live_idx]
        raw = np.zeros((n, 5))  # wait time, running remaining, eft - now, exec on best, (unused)
        raw[:, 0] = np.where(is_ready | is_queued, now - np.nan_to_num(ready_us, nan=now), 0.0)
        flags = np.zeros((n, 2))  # earliest-finish PE idle now, candidate
        offset = lay.offset
        for state in view.pes:
            for ref, finish in zip(state.running, state.expected_finish_us):
                row = new_index[offset[ref.job_id] + ref.task]
                raw[row, 1] = finish - now

        # Ready tasks: data-ready time and cost on every PE, vectorised over the PEs.
        cand_rows: list[int] = []
        cand_pe: list[int] = []
        cand_finish: list[float] = []
        pair_pes: list[np.ndarray] = []
        pair_x: list[np.ndarray] = []
        ready = view.ready
        if ready:
            costs = self.cost_rows(view)
            up = np.isfinite(avail)
            num_pes = tables.num_pes
            drt = np.empty((len(ready), num_pes))
            cost = np.empty((len(ready), num_pes))
            rows = np.empty(len(ready), dtype=np.int64)
            vjobs = view.jobs
            data_ready_row = tables.links.data_ready_row
            for i, ref in enumerate(ready):
                rows[i] = new_index[offset[ref.job_id] + ref.task]
                cost[i] = costs[vjobs[ref.job_id].graph.tasks[ref.task].kernel]
                drt[i] = data_ready_row(view, ref)
            start = np.maximum(avail, drt)
            finish = np.where(up, start + cost, math.inf)
            best = finish.min(axis=1)
            near = finish <= best[:, None] * (1.0 + self.rule.slack) + 1e-9
            allowed = near & idle if self.rule.binding == Binding.LATE else near
            best_pe = np.argmin(finish, axis=1)
            ok = np.isfinite(best)
            pair_context = None
            if self.pair_features and self._feature_set.pair_dim > len(_PAIR_SCALARS_V1):
                pair_context = _PairContext(view, tables, avail, best_pe[ok], lay, status_all)
            raw[rows[ok], 2] = best[ok] - now
            raw[rows[ok], 3] = cost[ok, best_pe[ok]]
            flags[rows[ok], 0] = idle[best_pe[ok]]
            for i in np.flatnonzero(ok & allowed.any(axis=1)):
                choice = np.flatnonzero(allowed[i])
                pe = int(choice[np.argmin(cost[i, choice])]) if choice.size > 1 else int(choice[0])
                row = int(rows[i])
                flags[row, 1] = 1.0
                cand_rows.append(row)
                cand_pe.append(pe)
                cand_finish.append(float(finish[i, pe]))
                if self.pair_features:
                    offered = finish[i] <= best[i] * (1.0 + self.rule.pe_slack) + 1e-9
                    if self.rule.binding == Binding.LATE:
                        offered &= idle
                    offered[pe] = True
                    opts = np.flatnonzero(offered)
                    pair_pes.append(opts)
                    columns = [
                        log_time(cost[i, opts]),
                        log_time(drt[i, opts] - now),
                        log_time(start[i, opts] - now),
                        log_time(finish[i, opts] - now),
                        log_time(finish[i, opts] - best[i]),
                        (opts == pe).astype(np.float64),
                    ]
                    if pair_context is not None:
                        columns.extend(pair_context.columns(lay.kernel_of[offset[ready[i].job_id] + ready[i].task],
                                                            vjobs[ready[i].job_id].graph.tasks[ready[i].task].kernel, opts))
                    pair_x.append(np.stack(columns, axis=1).astype(np.float32))

        dyn = np.empty((n, len(_NODE_SCALARS) - 8))
        dyn[:, 0] = is_wait
        dyn[:, 1] = is_ready
        dyn[:, 2] = is_queued
        dyn[:, 3] = is_running
        dyn[:, 4] = log_time(raw[:, 0])
        dyn[:, 5] = log_time(raw[:, 1])
        dyn[:, 6] = log_time(raw[:, 2])
        dyn[:, 7] = flags[:, 0]
        dyn[:, 8] = log_time(raw[:, 3])
        dyn[:, 9] = flags[:, 1]
        nodes = np.concatenate([lay.static_x[live_idx], dyn], axis=1).astype(np.float32)

        node_job = lay.job_of[live_idx]
        num_jobs = len(jobs)
        starts = np.searchsorted(node_job, np.arange(num_jobs))
        unfinished = np.bincount(node_job, minlength=num_jobs).astype(np.float64)
        remaining_work = np.add.reduceat(lay.mean_exec[live_idx], starts)
        critical = np.maximum.reduceat(lay.rank_u[live_idx], starts)
        ready_count = np.bincount(node_job, weights=is_ready, minlength=num_jobs)
        running_count = np.bincount(node_job, weights=is_running, minlength=num_jobs)
        admitted = np.fromiter((job.admitted_us for job in jobs), dtype=np.float64, count=num_jobs)
        job_x = np.stack(
            [
                log_time(now - admitted),
                log_time(remaining_work),
                log_time(critical),
                unfinished / lay.sizes,
                np.log1p(unfinished),
                np.log1p(ready_count),
                np.log1p(running_count),
                log_time(lay.total_work),
            ],
            axis=1,
        ).astype(np.float32)

        p_new = new_index[lay.parents]
        c_new = new_index[lay.children]
        keep = (p_new >= 0) & (c_new >= 0)
        edges = np.stack([p_new[keep], c_new[keep]], axis=1)

        globals_ = np.array(
            [
                math.log1p(num_jobs),
                math.log1p(len(ready)),
                math.log1p(len(cand_rows)),
                float(np.mean([s.busy_slots / s.pe.capacity for s in view.pes])),
                float(np.mean([s.down for s in view.pes])),
            ],
            dtype=np.float32,
        )
        refs = list(map(TaskRef, lay.job_id_of[live_idx].tolist(), lay.task_of[live_idx].tolist()))
        return Observation(
            nodes=nodes,
            jobs=job_x,
            pes=pes,
            globals_=globals_,
            edges=edges,
            node_job=node_job,
            refs=refs,
            candidates=np.array(cand_rows, dtype=np.int64),
            candidate_pe=np.array(cand_pe, dtype=np.int64),
            candidate_finish=np.array(cand_finish),
            pair_pes=pair_pes,
            pair_x=pair_x,
        )

    def _pe_features(self, view: SystemView, avail: np.ndarray, idle: np.ndarray) -> np.ndarray:
        tables = self.tables
        n = tables.num_pes
        x = np.zeros((n, self._feature_set.pe_dim), dtype=np.float32)
        x[:, :NUM_TYPES] = tables.type_onehot
        down = np.array([s.down for s in view.pes], dtype=np.float64)
        free = np.array([s.free_slots for s in view.pes], dtype=np.float64)
        queue = np.array([len(s.queue) for s in view.pes], dtype=np.float64)
        until_free = np.where(np.isfinite(avail), avail - view.now, 0.0)
        x[:, NUM_TYPES] = down
        x[:, NUM_TYPES + 1] = free / tables.capacity
        x[:, NUM_TYPES + 2] = log_time(until_free)
        x[:, NUM_TYPES + 3] = np.log1p(queue)
        x[:, NUM_TYPES + 4] = idle
        x[:, NUM_TYPES + 5] = np.log1p(tables.capacity)
        if self._feature_set.pe_dim > NUM_TYPES + len(_PE_SCALARS_V1):
            now = view.now
            queued_work = np.array([s.queued_work_us for s in view.pes])
            x[:, PE_COL["reconfig_time"]] = log_time(tables.reconfig)
            x[:, PE_COL["launch_overhead"]] = log_time(tables.launch)
            x[:, PE_COL["queued_work_per_slot"]] = log_time(queued_work / tables.capacity)
            x[:, PE_COL["since_repair"]] = log_time(self.failures.since_repair_us(now))
            x[:, PE_COL["failure_rate"]] = np.log1p(self.failures.rate_per_ms(now))
        return x


class _CostRows(dict):
    """``kernel -> cost row`` for one decision point (see :meth:`Featurizer.cost_rows`)."""

    def __init__(self, tables: PlatformTables, view: SystemView) -> None:
        super().__init__()
        self.tables = tables
        self.loaded = {i: view.pes[i].loaded_kernel for i in tables.reconfig_pes}

    def __missing__(self, kernel: str) -> np.ndarray:
        row = self.tables.exec_row(kernel)
        if self.loaded:
            row = row.copy()
            pes = self.tables.platform.pes
            for i, loaded in self.loaded.items():
                row[i] = task_cost(pes[i], kernel, loaded)
        self[kernel] = row
        return row


class _PairContext:
    """Per-PE facts of one decision point behind feature set 2's (task, PE) pair columns."""

    def __init__(self, view: SystemView, tables: PlatformTables, avail: np.ndarray, eft_pes: np.ndarray,
                 lay: _Layout, status_all: np.ndarray) -> None:
        self.tables = tables
        self.queue = np.log1p([len(s.queue) for s in view.pes])
        self.until_free = log_time(np.where(np.isfinite(avail), avail - view.now, 0.0))
        self.contention = np.log1p(np.bincount(eft_pes, minlength=tables.num_pes) / tables.capacity)
        self.launch = log_time(tables.launch)
        unstarted = (status_all == TaskStatus.WAITING) | (status_all == TaskStatus.READY) | (status_all == TaskStatus.QUEUED)
        self.demand = np.bincount(lay.kernel_of[unstarted], minlength=len(tables.kernel_ids)).astype(np.float64)
        self.loaded = {i: view.pes[i].loaded_kernel for i in tables.reconfig_pes}
        ids = tables.kernel_ids
        self.loaded_demand = np.zeros(tables.num_pes)
        for i, kernels in self.loaded.items():
            self.loaded_demand[i] = np.log1p(sum(self.demand[ids[k]] for k in set(kernels) if k in ids))

    def columns(self, kernel_id: int, kernel: str, opts: np.ndarray) -> list[np.ndarray]:
        """The set-2 pair columns of a task running ``kernel`` on each PE in ``opts`` (see ``_PAIR_SCALARS_V2``)."""
        tables = self.tables
        pes = tables.platform.pes
        loaded = np.zeros(len(opts))
        reconfig = np.zeros(len(opts))
        for k, pe in enumerate(opts):
            if tables.reconfigurable[pe]:
                state = self.loaded[int(pe)]
                paying = needs_reconfig(pes[pe], kernel, state)
                loaded[k] = 0.0 if paying else 1.0
                reconfig[k] = tables.reconfig[pe] if paying else 0.0
        on_fabric = tables.reconfigurable[opts]
        return [
            loaded,
            log_time(reconfig),
            self.launch[opts],
            self.queue[opts],
            self.until_free[opts],
            self.contention[opts],
            np.where(on_fabric, np.log1p(self.demand[kernel_id]), 0.0),
            self.loaded_demand[opts],
        ]


@dataclass(frozen=True)
class _Layout:
    """Static arrays of the jobs in the system, concatenated in ``view.jobs`` order."""

    key: tuple[int, ...]
    offset: dict[int, int]  #: job id -> first row of its tasks
    total: int
    sizes: np.ndarray
    static_x: np.ndarray
    mean_exec: np.ndarray
    rank_u: np.ndarray
    job_of: np.ndarray
    job_id_of: np.ndarray
    task_of: np.ndarray
    parents: np.ndarray
    children: np.ndarray
    total_work: np.ndarray
    kernel_of: np.ndarray  #: kernel id of every task


def _empty_observation(pes: np.ndarray, num_ready: int) -> Observation:
    """The observation of a system without jobs (nothing to pick)."""
    return Observation(
        nodes=np.zeros((0, NODE_DIM), np.float32),
        jobs=np.zeros((0, JOB_DIM), np.float32),
        pes=pes,
        globals_=np.array([0.0, math.log1p(num_ready), 0.0, 0.0, 0.0], dtype=np.float32),
        edges=np.zeros((0, 2), dtype=np.int64),
        node_job=np.zeros(0, dtype=np.int64),
        refs=[],
        candidates=np.zeros(0, dtype=np.int64),
        candidate_pe=np.zeros(0, dtype=np.int64),
        candidate_finish=np.zeros(0),
    )
