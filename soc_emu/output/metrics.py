"""Streaming run metrics: latency percentiles, throughput, utilisation, energy, deadline misses.

:class:`MetricsObserver` is a run observer (see :mod:`soc_emu.engine.records`). It sees every task and
job record once and keeps only what the final figures need: one float per finished job (latency and
admission wait, in compact ``array.array`` buffers) and a few accumulators per PE. It never stores
per-task records, so a million-task run costs a few megabytes here.

Definitions (all times in microseconds):

* job latency: admission to the finish of the job's last task; admission wait: arrival to admission;
* makespan: first job arrival to the last task finish;
* throughput: finished jobs per millisecond of makespan;
* utilisation of a PE: busy slot-time / (capacity x run span), where the run span is the time between
  the engine's ``on_start`` and ``on_finish`` (killed tasks count as busy until they were killed);
* energy of a PE (uJ, since W x us = uJ): ``active_power_w`` x busy slot-time + ``idle_power_w`` x idle
  slot-time, where idle slot-time excludes the time the PE was down (a failed PE draws nothing).
"""

from __future__ import annotations

import math
from array import array
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from soc_emu.engine.records import JobRecord, PEEventRecord, TaskRecord
    from soc_emu.model.platform import Platform


class _AppStats:
    """Per-application job count and latency sum (for per-app mean latency)."""

    __slots__ = ("jobs", "latency_sum", "dropped", "deadline_misses")

    def __init__(self) -> None:
        self.jobs = 0
        self.latency_sum = 0.0
        self.dropped = 0
        self.deadline_misses = 0


class MetricsObserver:
    """Accumulates run metrics from engine records; :meth:`result` returns them as a JSON-ready dict."""

    def __init__(self) -> None:
        self.platform: Platform | None = None
        self.start_us = 0.0
        self.end_us: float | None = None
        self._latencies = array("d")
        self._waits = array("d")
        self._apps: dict[str, _AppStats] = {}
        self.jobs_completed = 0
        self.jobs_dropped = 0
        self.deadline_misses = 0
        self.jobs_with_deadline = 0
        self.tasks_completed = 0
        self.tasks_killed = 0
        self.first_arrival_us = math.inf
        self.last_finish_us = -math.inf
        self._busy: list[float] = []
        self._down: list[float] = []
        self._down_since: list[float] = []
        self.pe_failures = 0

    # -- observer interface ------------------------------------------------------------------------
    def on_start(self, platform: Platform, start_us: float) -> None:
        """Size the per-PE accumulators for ``platform``."""
        self.platform = platform
        self.start_us = start_us
        n = len(platform.pes)
        self._busy = [0.0] * n
        self._down = [0.0] * n
        self._down_since = [math.nan] * n

    def on_task(self, record: TaskRecord) -> None:
        """Add the task's slot occupancy to its PE; count completions and kills."""
        self._busy[record.pe] += record.finish_us - record.start_us
        if record.completed:
            self.tasks_completed += 1
        else:
            self.tasks_killed += 1
        if record.finish_us > self.last_finish_us:
            self.last_finish_us = record.finish_us

    def on_job(self, record: JobRecord) -> None:
        """Keep the job's latency and admission wait; count drops and deadline misses."""
        if record.arrival_us < self.first_arrival_us:
            self.first_arrival_us = record.arrival_us
        stats = self._apps.get(record.app)
        if stats is None:
            stats = self._apps[record.app] = _AppStats()
        if record.dropped:
            self.jobs_dropped += 1
            stats.dropped += 1
            return
        latency = record.finish_us - record.admitted_us
        self._latencies.append(latency)
        self._waits.append(record.admitted_us - record.arrival_us)
        self.jobs_completed += 1
        stats.jobs += 1
        stats.latency_sum += latency
        if record.finish_us > self.last_finish_us:
            self.last_finish_us = record.finish_us
        if record.deadline_us is not None:
            self.jobs_with_deadline += 1
            if record.finish_us > record.deadline_us:
                self.deadline_misses += 1
                stats.deadline_misses += 1

    def on_pe_event(self, record: PEEventRecord) -> None:
        """Track the time each PE spends down."""
        if record.down:
            self.pe_failures += 1
            self._down_since[record.pe] = record.time_us
        else:
            since = self._down_since[record.pe]
            if since == since:  # not nan
                self._down[record.pe] += record.time_us - since
            self._down_since[record.pe] = math.nan

    def on_finish(self, end_us: float) -> None:
        """Close open down periods at the end of the run."""
        self.end_us = end_us
        for i, since in enumerate(self._down_since):
            if since == since:
                self._down[i] += max(0.0, end_us - since)
                self._down_since[i] = math.nan

    # -- results -----------------------------------------------------------------------------------
    @property
    def span_us(self) -> float:
        """Run span used for utilisation and energy: ``on_start`` to ``on_finish`` (or last finish)."""
        end = self.end_us if self.end_us is not None else max(self.last_finish_us, self.start_us)
        return max(0.0, end - self.start_us)

    @property
    def makespan_us(self) -> float:
        """First arrival to last finish (0 when nothing finished)."""
        if self.first_arrival_us == math.inf or self.last_finish_us == -math.inf:
            return 0.0
        return max(0.0, self.last_finish_us - self.first_arrival_us)

    def result(self) -> dict[str, Any]:
        """All metrics as a dict of plain JSON values (``None`` where a figure is undefined)."""
        import numpy as np

        lat = np.frombuffer(self._latencies, dtype=np.float64) if self._latencies else np.empty(0)
        waits = np.frombuffer(self._waits, dtype=np.float64) if self._waits else np.empty(0)
        makespan = self.makespan_us
        span = self.span_us
        out: dict[str, Any] = {
            "jobs_completed": self.jobs_completed,
            "jobs_dropped": self.jobs_dropped,
            "tasks_completed": self.tasks_completed,
            "tasks_killed": self.tasks_killed,
            "mean_latency_us": _mean(lat),
            "p50_latency_us": _percentile(lat, 50),
            "p95_latency_us": _percentile(lat, 95),
            "p99_latency_us": _percentile(lat, 99),
            "max_latency_us": float(lat.max()) if lat.size else None,
            "mean_admission_wait_us": _mean(waits),
            "p95_admission_wait_us": _percentile(waits, 95),
            "makespan_us": makespan,
            "sim_span_us": span,
            "throughput_jobs_per_ms": (1000.0 * self.jobs_completed / makespan) if makespan > 0 else None,
            "jobs_with_deadline": self.jobs_with_deadline,
            "deadline_misses": self.deadline_misses,
            "deadline_miss_rate": (self.deadline_misses / self.jobs_with_deadline) if self.jobs_with_deadline else None,
            "pe_failures": self.pe_failures,
        }
        out.update(self._pe_metrics(span))
        out["per_app"] = {
            app: {
                "jobs_completed": s.jobs,
                "jobs_dropped": s.dropped,
                "mean_latency_us": (s.latency_sum / s.jobs) if s.jobs else None,
                "deadline_misses": s.deadline_misses,
            }
            for app, s in sorted(self._apps.items())
        }
        return out

    def _pe_metrics(self, span: float) -> dict[str, Any]:
        """Utilisation (per PE, per PE type, mean over slots), energy and down time."""
        if self.platform is None:
            return {"utilization": {}, "utilization_by_type": {}, "mean_utilization": None,
                    "energy_uj": {}, "energy_total_uj": 0.0, "pe_down_us": {}}
        utilization: dict[str, float | None] = {}
        energy: dict[str, float] = {}
        down: dict[str, float] = {}
        type_busy: dict[str, float] = {}
        type_slots: dict[str, int] = {}
        for pe in self.platform.pes:
            busy = self._busy[pe.index]
            slot_time = pe.capacity * span
            utilization[pe.name] = busy / slot_time if slot_time > 0 else None
            idle = max(0.0, slot_time - busy - pe.capacity * self._down[pe.index])
            energy[pe.name] = pe.active_power_w * busy + pe.idle_power_w * idle
            down[pe.name] = self._down[pe.index]
            type_busy[pe.pe_type] = type_busy.get(pe.pe_type, 0.0) + busy
            type_slots[pe.pe_type] = type_slots.get(pe.pe_type, 0) + pe.capacity
        by_type = {
            t: (type_busy[t] / (type_slots[t] * span) if span > 0 else None) for t in sorted(type_busy)
        }
        total_slots = sum(type_slots.values())
        mean_util = sum(self._busy) / (total_slots * span) if span > 0 else None
        return {
            "utilization": utilization,
            "utilization_by_type": by_type,
            "mean_utilization": mean_util,
            "energy_uj": energy,
            "energy_total_uj": sum(energy.values()),
            "pe_down_us": down,
        }


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def _percentile(values: np.ndarray, q: float) -> float | None:
    import numpy as np

    return float(np.percentile(values, q)) if values.size else None


def backlog_metrics(end_us: float, jobs_arrived: int, jobs_completed: int, jobs_dropped: int,
                    in_system_arrivals: list[float], waiting_arrivals: list[float]) -> dict[str, Any]:
    """What the latency figures leave out: jobs that arrived but neither finished nor were dropped by the
    end of the run (a ``--duration`` run, an interrupted run), with their ages at the end, and a sentence
    saying which jobs the latency figures cover. An overloaded run therefore cannot look healthy.
    """
    import numpy as np

    ages = np.asarray([end_us - t for t in (*in_system_arrivals, *waiting_arrivals)], dtype=np.float64)
    unfinished = int(ages.size)
    return {
        "jobs_arrived": jobs_arrived,
        "jobs_unfinished": unfinished,
        "jobs_in_system_at_end": len(in_system_arrivals),
        "jobs_waiting_at_end": len(waiting_arrivals),
        "unfinished_age_us": {
            "mean": _mean(ages),
            "p50": _percentile(ages, 50),
            "max": float(ages.max()) if ages.size else None,
        },
        "latency_covers": f"completed jobs: {jobs_completed} of {jobs_arrived} arrived"
                          + (f" ({jobs_dropped} dropped, {unfinished} unfinished at the end)"
                             if jobs_dropped or unfinished else ""),
    }
