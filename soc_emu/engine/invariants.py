"""An observer that checks a run's records against the rules of the emulated system (a bug detector).

:class:`InvariantChecker` verifies, as records stream in:

* every completed task started no earlier than each predecessor's finish plus the idle-interconnect
  transfer time between their PEs, and no earlier than its job's admission;
* no PE slot ran two executions at once and no slot index reaches the PE's capacity (so no PE ever exceeds
  its capacity);
* no task ran on a PE that cannot run its kernel, or while that PE was down (a killed execution ends
  exactly when its PE failed);
* every completed job had each of its tasks completed exactly once (killed attempts are allowed), and the
  job's finish is the latest task finish;
* no record belongs to a dropped job.

Memory stays bounded: task records are buffered per job and checked and dropped when the job's record
arrives; per PE it keeps the last finish per slot and the down intervals. Violations are collected (the
first :attr:`max_messages` in full) and :meth:`check` raises :class:`AssertionError` listing them.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable

from soc_emu.engine.records import JobRecord, PEEventRecord, TaskRecord, TransferRecord
from soc_emu.model.platform import Platform
from soc_emu.model.taskgraph import TaskGraph
from soc_emu.model.workload import Workload

#: Absolute plus relative tolerance for time comparisons.
_ABS_TOL = 1e-9
_REL_TOL = 1e-12


def _before(a: float, b: float) -> bool:
    """``a < b`` beyond rounding."""
    return a < b - (_ABS_TOL + _REL_TOL * abs(b))


class InvariantChecker:
    """Observer checking the engine's records (see the module docstring).

    Parameters
    ----------
    workload:
        The run's workload (or the task graphs), to know every application's DAG.
    max_messages:
        How many violations are kept in full for the error message.
    """

    def __init__(self, workload: Workload | Iterable[TaskGraph], *, max_messages: int = 20) -> None:
        graphs = workload.mix.graphs if isinstance(workload, Workload) else tuple(workload)
        self._graphs: dict[str, TaskGraph] = {g.name: g for g in graphs}
        self.max_messages = max_messages
        self.violations: list[str] = []
        self.violation_count = 0
        self.jobs_checked = 0
        self.tasks_checked = 0
        self._platform: Platform | None = None
        self._buffer: dict[int, list[TaskRecord]] = defaultdict(list)
        self._slot_free: dict[tuple[int, int], float] = {}
        self._down_starts: list[list[float]] = []
        self._down_ends: list[list[float]] = []
        self._dropped: set[int] = set()
        self._finished = False

    # ------------------------------------------------------------------ observer hooks

    def on_start(self, platform: Platform, start_us: float) -> None:
        self._platform = platform
        self._down_starts = [[] for _ in platform.pes]
        self._down_ends = [[] for _ in platform.pes]

    def on_task(self, rec: TaskRecord) -> None:
        platform = self._require_platform()
        self.tasks_checked += 1
        where = f"job {rec.job_id} ({rec.app}) task {rec.task_name} #{rec.task} on PE {rec.pe_name} slot {rec.slot}"
        if rec.job_id in self._dropped:
            self._fail(f"{where}: record of a dropped job")
        pe = platform.pes[rec.pe]
        if rec.kernel not in pe.exec_times_us:
            self._fail(f"{where}: PE {pe.name} cannot run kernel {rec.kernel!r}")
        if not 0 <= rec.slot < pe.capacity:
            self._fail(f"{where}: slot {rec.slot} outside the PE's capacity {pe.capacity}")
        if _before(rec.finish_us, rec.start_us) or not (0 <= rec.overhead_us):
            self._fail(f"{where}: bad interval [{rec.start_us}, {rec.finish_us}] overhead {rec.overhead_us}")
        if rec.completed and _before(rec.finish_us, rec.start_us + rec.overhead_us):
            self._fail(f"{where}: finished at {rec.finish_us} before its overhead ended ({rec.start_us} + {rec.overhead_us})")
        if _before(rec.start_us, rec.ready_us):
            self._fail(f"{where}: started at {rec.start_us} before it was ready at {rec.ready_us}")
        key = (rec.pe, rec.slot)
        last = self._slot_free.get(key, -math.inf)
        if _before(rec.start_us, last):
            self._fail(f"{where}: starts at {rec.start_us} while the slot is busy until {last} (capacity exceeded)")
        self._slot_free[key] = max(last, rec.finish_us)
        self._check_up(rec, where)
        self._buffer[rec.job_id].append(rec)

    def on_pe_event(self, rec: PEEventRecord) -> None:
        self._require_platform()
        starts, ends = self._down_starts[rec.pe], self._down_ends[rec.pe]
        if rec.down:
            if len(starts) > len(ends):
                self._fail(f"PE {rec.pe_name} failed at {rec.time_us} while already down")
                return
            starts.append(rec.time_us)
        else:
            if len(starts) == len(ends):
                self._fail(f"PE {rec.pe_name} repaired at {rec.time_us} while up")
                return
            ends.append(rec.time_us)

    def on_transfer(self, rec: TransferRecord) -> None:
        platform = self._require_platform()
        if rec.src_pe == rec.dst_pe:
            self._fail(f"job {rec.job_id}: bus transfer {rec.src_task}->{rec.dst_task} within PE {rec.src_pe}")
        expected = platform.transfer_time(rec.src_pe, rec.dst_pe, rec.volume)
        if abs((rec.finish_us - rec.start_us) - expected) > _ABS_TOL + _REL_TOL * abs(rec.finish_us):
            self._fail(
                f"job {rec.job_id}: transfer {rec.src_task}->{rec.dst_task} took {rec.finish_us - rec.start_us}, "
                f"link time is {expected}"
            )

    def on_job(self, rec: JobRecord) -> None:
        records = self._buffer.pop(rec.job_id, [])
        self.jobs_checked += 1
        if rec.dropped:
            self._dropped.add(rec.job_id)
            if records:
                self._fail(f"job {rec.job_id} ({rec.app}) was dropped but has {len(records)} task record(s)")
            return
        graph = self._graphs.get(rec.app)
        if graph is None:
            self._fail(f"job {rec.job_id}: unknown application {rec.app!r}")
            return
        where = f"job {rec.job_id} ({rec.app})"
        if _before(rec.admitted_us, rec.arrival_us):
            self._fail(f"{where}: admitted at {rec.admitted_us} before it arrived at {rec.arrival_us}")
        done: list[TaskRecord | None] = [None] * len(graph.tasks)
        for r in records:
            if not r.completed:
                continue
            if not 0 <= r.task < len(graph.tasks):
                self._fail(f"{where}: record of task #{r.task}, the graph has {len(graph.tasks)} tasks")
                continue
            if done[r.task] is not None:
                self._fail(f"{where}: task {r.task_name} #{r.task} completed twice")
            done[r.task] = r
        missing = [graph.tasks[i].name for i, r in enumerate(done) if r is None]
        if missing:
            self._fail(f"{where}: finished but task(s) {missing} never completed")
            return
        platform = self._require_platform()
        latest = max(r.finish_us for r in done if r is not None)
        if abs(latest - rec.finish_us) > _ABS_TOL + _REL_TOL * abs(latest):
            self._fail(f"{where}: job finish {rec.finish_us} is not the last task finish {latest}")
        for i, r in enumerate(done):
            assert r is not None
            if r.kernel != graph.tasks[i].kernel:
                self._fail(f"{where}: task #{i} ran kernel {r.kernel!r}, the graph says {graph.tasks[i].kernel!r}")
            if not graph.preds[i] and _before(r.start_us, rec.admitted_us):
                self._fail(f"{where}: entry task {r.task_name} started at {r.start_us} before admission at {rec.admitted_us}")
            for src, volume in graph.preds[i]:
                p = done[src]
                assert p is not None
                arrive = p.finish_us + platform.transfer_time(p.pe, r.pe, volume)
                if _before(r.start_us, arrive):
                    self._fail(
                        f"{where}: task {r.task_name} started on {r.pe_name} at {r.start_us} before the data of "
                        f"{p.task_name} (finished {p.finish_us} on {p.pe_name}) arrived at {arrive}"
                    )

    def on_finish(self, end_us: float) -> None:
        self._finished = True

    # ------------------------------------------------------------------ results

    def check(self) -> None:
        """Raise :class:`AssertionError` listing the violations found (nothing when the run was sound)."""
        if self.violation_count:
            shown = "\n  ".join(self.violations)
            more = self.violation_count - len(self.violations)
            tail = f"\n  ... and {more} more" if more > 0 else ""
            raise AssertionError(f"{self.violation_count} invariant violation(s):\n  {shown}{tail}")

    # ------------------------------------------------------------------ helpers

    def _require_platform(self) -> Platform:
        if self._platform is None:
            raise AssertionError("InvariantChecker received a record before on_start(platform, ...)")
        return self._platform

    def _fail(self, message: str) -> None:
        self.violation_count += 1
        if len(self.violations) < self.max_messages:
            self.violations.append(message)

    def _check_up(self, rec: TaskRecord, where: str) -> None:
        starts, ends = self._down_starts[rec.pe], self._down_ends[rec.pe]
        # Down intervals that started before this execution finished could overlap it.
        k = bisect.bisect_left(starts, rec.finish_us - (_ABS_TOL + _REL_TOL * abs(rec.finish_us)))
        for j in range(k - 1, -1, -1):
            down_end = ends[j] if j < len(ends) else math.inf
            if _before(rec.start_us, down_end):
                self._fail(f"{where}: ran [{rec.start_us}, {rec.finish_us}] while the PE was down from {starts[j]}")
            break  # intervals are disjoint and sorted: only the latest one before the finish can overlap
