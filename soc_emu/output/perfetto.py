"""Chrome / Perfetto trace (JSON trace-event format), streamed to disk as the run proceeds.

Layout, chosen so Perfetto shows every task (it does not draw overlapping complete events that share a
track):

* one process (``pid``) per PE, named ``"<pe_name> (<pe_type>)"``;
* one thread (``tid``) per PE slot, named ``"slot <k>"``: the engine never runs two tasks at once on a
  slot, so events on a tid never overlap;
* one extra thread per PE, ``"down"`` (tid = capacity), carrying the PE's failure periods;
* on a platform with power data, a ``"power"`` process with counter tracks (``"ph": "C"``) per cluster:
  ``<cluster> MHz``, ``<cluster> W`` and ``<cluster> C`` (temperature, clusters with a thermal node);
* in shared-bus mode, a ``"bus"`` process whose transfers are packed into lanes (tids) so that no two
  overlap on one lane.

Tasks are complete events (``"ph": "X"``) with ``ts``/``dur`` in microseconds; killed executions are
named ``"<task> (killed)"`` and have category ``"killed"``. Open it at https://ui.perfetto.dev.

Every event is written with its leading separator in one ``write`` call, so an interrupt between two
events never leaves a dangling comma: :meth:`PerfettoTraceWriter.close` always yields valid JSON. A run
that was interrupted is marked by a global instant event ``"run interrupted"`` and by the top-level
``"otherData": {"status": "interrupted", ...}``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from soc_emu.engine.records import PEEventRecord, PowerRecord, TaskRecord, TransferRecord
    from soc_emu.model.platform import Platform

_MAX_BUS_LANES = 256


def _num(x: float) -> str:
    """A JSON number (``null`` for nan / inf, which JSON cannot carry)."""
    return repr(float(x)) if math.isfinite(x) else "null"


class PerfettoTraceWriter:
    """Run observer writing a Chrome trace-event JSON file incrementally."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: TextIO | None = None
        self._names: dict[tuple[str, str, str, bool], tuple[str, str]] = {}
        self._down_since: list[float] = []
        self._capacity: list[int] = []
        self._bus_pid = 0
        self._bus_lanes: list[float] = []
        self.events = 0

    # -- observer interface ------------------------------------------------------------------------
    def on_start(self, platform: Platform, start_us: float) -> None:
        """Open the file and name every PE (process) and slot (thread)."""
        self._file = open(self.path, "w", encoding="utf-8", buffering=1 << 20)  # noqa: SIM115
        # The header ends with a first event, so every later event is written as ",\n<event>" in one call.
        self._file.write('{"displayTimeUnit": "ms", "traceEvents": [\n'
                         '{"name": "process_name", "ph": "M", "pid": 0, "tid": 0, "args": {"name": "soc-emu"}}')
        self._capacity = [pe.capacity for pe in platform.pes]
        self._down_since = [math.nan] * len(platform.pes)
        for pe in platform.pes:
            pid = pe.index + 1
            self._meta("process_name", pid, 0, f"{pe.name} ({pe.pe_type})")
            self._meta("process_sort_index", pid, 0, None, sort_index=pe.index)
            for slot in range(pe.capacity):
                self._meta("thread_name", pid, slot, f"slot {slot}")
            self._meta("thread_name", pid, pe.capacity, "down")
        self._bus_pid = len(platform.pes) + 1
        self._bus_lanes = []
        self._power_pid = len(platform.pes) + 2
        if platform.power is not None:
            self._meta("process_name", self._power_pid, 0, "power")

    def on_task(self, r: TaskRecord) -> None:
        """One complete event on the task's PE slot."""
        key = (r.app, r.task_name, r.kernel, r.completed)
        parts = self._names.get(key)
        if parts is None:
            name = r.task_name if r.completed else f"{r.task_name} (killed)"
            cat = r.app if r.completed else "killed"
            parts = self._names[key] = (
                f'{{"name": {json.dumps(name)}, "cat": {json.dumps(cat)}, "ph": "X", "ts": ',
                f'"args": {{"app": {json.dumps(r.app)}, "kernel": {json.dumps(r.kernel)}, "job": ',
            )
        head, args = parts
        self._emit(
            f'{head}{_num(r.start_us)}, "dur": {_num(r.finish_us - r.start_us)}, "pid": {r.pe + 1}, '
            f'"tid": {r.slot}, {args}{r.job_id}, "task": {r.task}, "ready_us": {_num(r.ready_us)}, '
            f'"overhead_us": {_num(r.overhead_us)}}}}}'
        )

    def on_pe_event(self, r: PEEventRecord) -> None:
        """PE down periods become complete events on the PE's ``down`` thread."""
        if r.down:
            self._down_since[r.pe] = r.time_us
            return
        since = self._down_since[r.pe]
        if since == since:
            self._down_event(r.pe, since, r.time_us)
        self._down_since[r.pe] = math.nan

    def on_transfer(self, r: TransferRecord) -> None:
        """A bus transfer, placed on the first lane whose previous transfer ended by this start."""
        lane = next((i for i, end in enumerate(self._bus_lanes) if end <= r.start_us), None)
        if lane is None:
            if len(self._bus_lanes) >= _MAX_BUS_LANES:
                return
            lane = len(self._bus_lanes)
            self._bus_lanes.append(r.finish_us)
            if lane == 0:
                self._meta("process_name", self._bus_pid, 0, "shared bus")
            self._meta("thread_name", self._bus_pid, lane, f"lane {lane}")
        self._bus_lanes[lane] = max(self._bus_lanes[lane], r.finish_us)
        self._emit(
            f'{{"name": "transfer", "cat": "bus", "ph": "X", "ts": {_num(r.start_us)}, '
            f'"dur": {_num(r.finish_us - r.start_us)}, "pid": {self._bus_pid}, "tid": {lane}, '
            f'"args": {{"job": {r.job_id}, "src_task": {r.src_task}, "dst_task": {r.dst_task}, '
            f'"src_pe": {r.src_pe}, "dst_pe": {r.dst_pe}, "volume": {_num(r.volume)}}}}}'
        )

    def on_power(self, r: PowerRecord) -> None:
        """Counter samples: the cluster's frequency, power and temperature from ``r.time_us`` on."""
        for unit, value in (("MHz", r.mhz), ("W", r.power_w), ("C", r.temperature_c)):
            if math.isfinite(value):
                self._emit(f'{{"name": {json.dumps(f"{r.cluster} {unit}")}, "ph": "C", "ts": {_num(r.time_us)}, '
                           f'"pid": {self._power_pid}, "args": {{"{unit}": {_num(value)}}}}}')

    def on_finish(self, end_us: float) -> None:
        """Close open down periods at the end of the run and terminate the JSON document."""
        for pe, since in enumerate(self._down_since):
            if since == since:
                self._down_event(pe, since, max(since, end_us))
                self._down_since[pe] = math.nan
        self.close()

    def close(self, status: dict[str, Any] | None = None) -> None:
        """Finish the JSON array and close the file (safe to call twice). A ``status`` (how an interrupted
        run ended: ``state``, ``signal``, ``sim_time_us``) is added as a last instant event and as the
        document's ``otherData``."""
        if self._file is not None:
            tail = "\n]"
            if status is not None:
                marker = json.dumps({"name": f"run {status.get('state', 'stopped')}", "ph": "i", "s": "g",
                                     "ts": status.get("sim_time_us", 0.0), "pid": 0, "tid": 0, "args": status})
                tail = f",\n{marker}\n], \"otherData\": {json.dumps(status)}"
            self._file.write(tail + "}\n")
            self._file.close()
            self._file = None

    # -- helpers -----------------------------------------------------------------------------------
    def _down_event(self, pe: int, start: float, end: float) -> None:
        self._emit(
            f'{{"name": "PE down", "cat": "failure", "ph": "X", "ts": {_num(start)}, '
            f'"dur": {_num(end - start)}, "pid": {pe + 1}, "tid": {self._capacity[pe]}, "args": {{}}}}'
        )

    def _meta(self, kind: str, pid: int, tid: int, name: str | None, *, sort_index: int | None = None) -> None:
        args = f'{{"name": {json.dumps(name)}}}' if sort_index is None else f'{{"sort_index": {sort_index}}}'
        self._emit(f'{{"name": "{kind}", "ph": "M", "pid": {pid}, "tid": {tid}, "args": {args}}}')

    def _emit(self, event: str) -> None:
        assert self._file is not None, "on_start was not called"
        self._file.write(",\n" + event)  # one call: an interrupt never splits separator and event
        self.events += 1
