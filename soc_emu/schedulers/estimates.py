"""PE availability estimates shared by ETF/EFT, HEFT and the learned agent.

An estimate answers "if this task went to that PE now, when would it start and finish?" from the view
alone, using *nominal* times (schedulers never see the noisy actual ones):

* a slot running a task frees at the task's expected finish (``PEState.expected_finish_us``), an idle
  slot frees now, every slot of a down PE never;
* the PE's queued tasks then take the earliest-free slot in queue order, each starting no earlier than its
  inputs are there (``PEState.queue_inputs_us``, else
  :meth:`SystemView.data_ready_time`) and lasting its :func:`task_cost`; for a long
  queue (more than :data:`EXACT_QUEUE_LIMIT` tasks) the ``PEState.queued_work_us`` is instead poured evenly onto the earliest-free slots (O(capacity), not O(queue); input
  waits and reconfigurations of queued tasks are then ignored);
* a new task starts at ``max(earliest slot free, its data-ready time)``.

:class:`Availability` keeps these per-slot times for one decision point and lets a scheduler
:meth:`~Availability.commit` tentative assignments, so a list scheduler placing several tasks at once sees
its own earlier choices. :func:`earliest_finish` and :func:`pe_available_time` are one-shot shortcuts.

Static estimates for ranking (HEFT's ``w_bar``/``c_bar`` and the upward rank) live here too, in
:class:`MeanCosts` and :func:`upward_ranks`, so HEFT, the ``srpt_eft`` heuristic and the learned agent's
features rank tasks with one formula:

* ``w_bar(kernel)``: mean of ``launch overhead + execution time`` over the PEs that can run the kernel
  (each PE once, whatever its capacity);
* ``c_bar(volume)``: ``0`` for no data, else ``mean latency + volume / mean bandwidth``, both means over
  all ordered pairs of *distinct* PEs (Topcuoglu's ``L_bar + data / B_bar``); a one-PE platform has no
  communication;
* ``rank_u(t) = w_bar(t) + max over successors s of (c_bar(t, s) + rank_u(s))``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence

import numpy as np

from soc_emu.engine.view import SystemView, TaskRef
from soc_emu.model.platform import Platform, ProcessingElement, link_transfer_time
from soc_emu.model.taskgraph import TaskGraph

#: Queues up to this length are simulated task by task; longer ones use the engine's queued-work total.
EXACT_QUEUE_LIMIT = 8

__all__ = [
    "EXACT_QUEUE_LIMIT", "Availability", "MeanCosts", "data_ready_times", "earliest_finish", "pe_available_time",
    "LinkArrays", "needs_reconfig", "slot_free_times", "slot_time", "task_cost", "upward_ranks",
]


def slot_time(pe: ProcessingElement, kernel: str) -> float:
    """Nominal slot time of ``kernel`` on ``pe`` when no reconfiguration is needed: launch overhead +
    execution time (``inf`` when the PE cannot run the kernel)."""
    t = pe.exec_times_us.get(kernel)
    return math.inf if t is None else t + pe.launch_overhead_us


def needs_reconfig(pe: ProcessingElement, kernel: str, loaded: list[str | None] | None = None) -> bool:
    """Whether running ``kernel`` on ``pe`` first loads it into a region: ``pe`` is reconfigurable and no
    slot (``loaded``, ``PEState.loaded_kernel``; None: unknown, assume none) holds the kernel."""
    return pe.reconfig_time_us > 0 and (loaded is None or kernel not in loaded)


def task_cost(pe: ProcessingElement, kernel: str, loaded: list[str | None] | None = None) -> float:
    """Nominal slot time of ``kernel`` on ``pe``: :func:`slot_time`, plus the FPGA reconfiguration time when
    :func:`needs_reconfig`. ``inf`` when the PE cannot run the kernel."""
    t = slot_time(pe, kernel)
    if needs_reconfig(pe, kernel, loaded):
        t += pe.reconfig_time_us
    return t


def slot_free_times(view: SystemView, pe: int) -> list[float]:
    """Per slot of PE ``pe``, when it is expected to be free after the running and queued tasks (a heap)."""
    state = view.pes[pe]
    capacity = state.pe.capacity
    if state.down:
        return [math.inf] * capacity
    now = view.now
    if not state.running and not state.queue:
        return [now] * capacity
    times = [t if t > now else now for t in state.expected_finish_us]
    times.extend([now] * (capacity - len(times)))
    heapq.heapify(times)
    if len(state.queue) > EXACT_QUEUE_LIMIT:
        return _pour(times, state.queued_work_us)
    if state.queue:
        jobs = view.jobs
        inputs = state.queue_inputs_us  # the engine's own record of when inputs arrive
        known = len(inputs)
        for k, ref in enumerate(state.queue):
            kernel = jobs[ref.job_id].graph.tasks[ref.task].kernel
            free = times[0]
            ready = inputs[k] if k < known else view.data_ready_time(ref, pe)
            heapq.heapreplace(times, (ready if ready > free else free) + task_cost(state.pe, kernel, state.loaded_kernel))
    return times


def _pour(times: list[float], work: float) -> list[float]:
    """Slot free times after spreading ``work`` over the slots, earliest slots first (water filling)."""
    times = sorted(times)
    level = times[0]
    filled = 1
    while work > 0:
        nxt = times[filled] if filled < len(times) else math.inf
        room = (nxt - level) * filled
        if work <= room:
            level += work / filled
            work = 0.0
        else:
            work -= room
            level = nxt
            filled += 1
    return [level if i < filled else t for i, t in enumerate(times)]  # sorted, hence a valid heap


def data_ready_times(view: SystemView, ref: TaskRef, pes: list[int] | tuple[int, ...]) -> list[float]:
    """:meth:`SystemView.data_ready_time` of ``ref`` for each PE in ``pes`` (reads the job once)."""
    job = view.jobs[ref.job_id]
    preds = job.graph.preds[ref.task]
    if not preds:
        return [job.admitted_us] * len(pes)
    finish = job.finish_us
    where = job.pe
    sources = [(finish[src], where[src], volume) for src, volume in preds]
    if any(f != f for f, _, _ in sources):  # nan: a predecessor has not finished
        return [math.inf] * len(pes)
    transfer = view.platform.transfer_time
    now = view.now
    out = []
    for pe in pes:
        t = now
        for f, src_pe, volume in sources:
            arrive = f + transfer(src_pe, pe, volume)
            if arrive > t:
                t = arrive
        out.append(t)
    return out


class LinkArrays:
    """The platform's links as ``[P, P]`` arrays, for :meth:`data_ready_row` (one row per decision instead
    of a Python loop over PEs; the same sums as :func:`data_ready_times`, in the same order)."""

    def __init__(self, platform: Platform) -> None:
        n = len(platform.pes)
        self.latency = np.array([[platform.link(i, j).latency_us for j in range(n)] for i in range(n)], dtype=np.float64)
        self.bandwidth = np.array([[platform.link(i, j).bandwidth for j in range(n)] for i in range(n)], dtype=np.float64)
        self.num_pes = n

    def data_ready_row(self, view: SystemView, ref: TaskRef) -> np.ndarray:
        """``data_ready_times(view, ref, all PEs)`` as an array (``inf`` if a predecessor has not finished)."""
        job = view.jobs[ref.job_id]
        preds = job.graph.preds[ref.task]
        if not preds:
            return np.full(self.num_pes, job.admitted_us)
        t = np.full(self.num_pes, view.now)
        finish = job.finish_us
        where = job.pe
        for src, volume in preds:
            f = finish[src]
            if f != f:
                return np.full(self.num_pes, math.inf)
            if volume > 0:
                np.maximum(t, f + link_transfer_time(self.latency[where[src]], self.bandwidth[where[src]], volume), out=t)
            else:
                np.maximum(t, f, out=t)
        return t


def pe_available_time(view: SystemView, pe: int) -> float:
    """When PE ``pe`` is expected to have a free slot (``inf`` while down)."""
    return slot_free_times(view, pe)[0]


def earliest_finish(view: SystemView, ref: TaskRef, pe: int) -> tuple[float, float]:
    """Estimated ``(start, finish)`` of task ``ref`` if it were assigned to PE ``pe`` now."""
    return Availability(view).earliest_finish(ref, pe)


class Availability:
    """Slot-free estimates of every PE at one decision point, computed lazily per PE.

    Use one instance per :meth:`Scheduler.decide` call: it reads the view when a PE is first asked about.
    """

    __slots__ = ("view", "_slots")

    def __init__(self, view: SystemView) -> None:
        self.view = view
        self._slots: dict[int, list[float]] = {}

    def slots(self, pe: int) -> list[float]:
        """The slot-free heap of PE ``pe`` (smallest first); change it only through :meth:`commit`."""
        heap = self._slots.get(pe)
        if heap is None:
            heap = self._slots[pe] = slot_free_times(self.view, pe)
        return heap

    def available(self, pe: int) -> float:
        """When PE ``pe`` has a free slot, given the commitments made so far."""
        return self.slots(pe)[0]

    def cost(self, ref: TaskRef, pe: int) -> float:
        """Nominal slot time of task ``ref`` on PE ``pe`` (see :func:`task_cost`)."""
        view = self.view
        state = view.pes[pe]
        return task_cost(state.pe, view.kernel(ref), state.loaded_kernel)

    def earliest_finish(self, ref: TaskRef, pe: int, data_ready: float | None = None) -> tuple[float, float]:
        """Estimated ``(start, finish)`` of ``ref`` on ``pe``; pass ``data_ready`` if already known."""
        if data_ready is None:
            data_ready = self.view.data_ready_time(ref, pe)
        free = self.slots(pe)[0]
        start = data_ready if data_ready > free else free
        return start, start + self.cost(ref, pe)

    def commit(self, pe: int, finish: float) -> None:
        """Record a tentative assignment: PE ``pe``'s earliest-free slot is now busy until ``finish``."""
        heapq.heapreplace(self.slots(pe), finish)

    @staticmethod
    def commit_to(heap: list[float], finish: float) -> None:
        """:meth:`commit` on a heap obtained from :meth:`slots` (saves a lookup in hot loops)."""
        heapq.heapreplace(heap, finish)


class MeanCosts:
    """HEFT's platform-average costs (``w_bar``, ``c_bar``) and upward ranks of one platform (see the module
    docstring). Per-graph results are cached by graph identity."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        pairs = platform.links_between_pes()
        if pairs:
            self.mean_latency_us = sum(link.latency_us for link in pairs) / len(pairs)
            self.mean_bandwidth = sum(link.bandwidth for link in pairs) / len(pairs)
        else:
            self.mean_latency_us = 0.0
            self.mean_bandwidth = math.inf
        self._exec: dict[str, float] = {}
        self._graphs: dict[int, tuple[TaskGraph, list[float], list[float]]] = {}

    def mean_comm(self, volume: float) -> float:
        """``c_bar``: mean communication cost of an edge carrying ``volume``."""
        if volume <= 0:
            return 0.0
        return link_transfer_time(self.mean_latency_us, self.mean_bandwidth, volume)

    def mean_exec(self, kernel: str) -> float:
        """``w_bar``: mean slot time (launch overhead + execution) of ``kernel`` over the PEs that run it
        (``inf`` when none does)."""
        w = self._exec.get(kernel)
        if w is None:
            times = [slot_time(pe, kernel) for pe in self.platform.pes if kernel in pe.exec_times_us]
            w = self._exec[kernel] = sum(times) / len(times) if times else math.inf
        return w

    def graph(self, graph: TaskGraph) -> tuple[list[float], list[float]]:
        """``(w_bar per task, rank_u per task)`` of ``graph`` (cached)."""
        hit = self._graphs.get(id(graph))
        if hit is not None and hit[0] is graph:
            return hit[1], hit[2]
        mean_exec = [self.mean_exec(task.kernel) for task in graph.tasks]
        ranks = upward_ranks(graph, mean_exec, self.mean_comm)
        self._graphs[id(graph)] = (graph, mean_exec, ranks)
        return mean_exec, ranks

    def ranks(self, graph: TaskGraph) -> list[float]:
        """``rank_u`` of every task of ``graph`` (us)."""
        return self.graph(graph)[1]


def upward_ranks(graph: TaskGraph, mean_exec: Sequence[float], mean_comm: Callable[[float], float]) -> list[float]:
    """``rank_u`` of every task, from mean execution times and a ``volume -> mean cost`` function."""
    ranks = [0.0] * len(graph.tasks)
    for t in reversed(graph.topo_order):
        tail = 0.0
        for succ, volume in graph.succs[t]:
            value = mean_comm(volume) + ranks[succ]
            if value > tail:
                tail = value
        ranks[t] = mean_exec[t] + tail
    return ranks
