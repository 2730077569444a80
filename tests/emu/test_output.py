"""Metrics and trace writers on a hand-built record stream whose figures are computed by hand."""

from __future__ import annotations

import csv
import json
import math
import tracemalloc
from collections import defaultdict

import pytest

from soc_emu.engine.records import JobRecord, PEEventRecord, TaskRecord, TransferRecord
from soc_emu.model.platform import Interconnect, Link, Platform, ProcessingElement
from soc_emu.output import CSV_COLUMNS, CsvTraceWriter, GanttRecorder, MetricsObserver, PerfettoTraceWriter
from soc_emu.output.results import write_json


def tiny_platform() -> Platform:
    """A 1-slot CPU (2 W busy, 0.5 W idle) and a 2-slot FFT accelerator (1 W busy, 0.1 W idle)."""
    return Platform(
        name="tiny",
        pes=(
            ProcessingElement(0, "cpu0", "cpu", "c", 1, {"a": 10.0, "b": 10.0}, active_power_w=2.0, idle_power_w=0.5),
            ProcessingElement(1, "acc0", "acc_fft", "f", 2, {"a": 8.0, "b": 8.0}, active_power_w=1.0, idle_power_w=0.1),
        ),
        interconnect=Interconnect(default=Link(bandwidth=1.0)),
    )


def task(job: int, t: int, pe: int, slot: int, start: float, finish: float, completed: bool = True) -> TaskRecord:
    return TaskRecord(job_id=job, app="appA" if job == 0 else "appB", task=t, task_name=f"t{t}", kernel="a",
                      pe=pe, pe_name=("cpu0", "acc0")[pe], slot=slot, ready_us=start, start_us=start,
                      finish_us=finish, overhead_us=0.0, completed=completed)


def feed(observer: object) -> None:
    """Two finished jobs (latency 20 and 35 us), one dropped, one killed execution, acc0 down 30-35 us.

    Like the engine, only the methods the observer defines are called."""

    def call(method: str, *args: object) -> None:
        if hasattr(observer, method):
            getattr(observer, method)(*args)

    call("on_start", tiny_platform(), 0.0)
    call("on_task", task(0, 0, 0, 0, 0.0, 10.0))
    call("on_task", task(1, 0, 1, 1, 5.0, 15.0))
    call("on_task", task(0, 1, 1, 0, 12.0, 20.0))
    call("on_job", JobRecord(0, "appA", arrival_us=0.0, admitted_us=0.0, finish_us=20.0, deadline_us=25.0, num_tasks=2))
    call("on_task", task(1, 1, 0, 0, 15.0, 30.0, completed=False))  # killed after 15 us of work
    call("on_pe_event", PEEventRecord(1, "acc0", 30.0, down=True))
    call("on_pe_event", PEEventRecord(1, "acc0", 35.0, down=False))
    call("on_job", JobRecord(2, "appA", arrival_us=3.0, admitted_us=math.nan, finish_us=math.nan,
                             deadline_us=None, num_tasks=2, dropped=True))
    call("on_task", task(1, 1, 0, 0, 30.0, 40.0))
    call("on_job", JobRecord(1, "appB", arrival_us=2.0, admitted_us=5.0, finish_us=40.0, deadline_us=30.0, num_tasks=2))
    call("on_finish", 40.0)


def test_metrics_match_hand_computation() -> None:
    m = MetricsObserver()
    feed(m)
    r = m.result()
    assert r["jobs_completed"] == 2 and r["jobs_dropped"] == 1
    assert r["tasks_completed"] == 4 and r["tasks_killed"] == 1
    # latencies 20 (job 0) and 35 (job 1, admitted at 5)
    assert r["mean_latency_us"] == pytest.approx(27.5)
    assert r["p50_latency_us"] == pytest.approx(27.5)
    assert r["p95_latency_us"] == pytest.approx(20 + 0.95 * 15)
    assert r["max_latency_us"] == pytest.approx(35.0)
    assert r["mean_admission_wait_us"] == pytest.approx(1.5)  # waits 0 and 3
    assert r["makespan_us"] == pytest.approx(40.0)
    assert r["throughput_jobs_per_ms"] == pytest.approx(2 / 40 * 1000)
    assert (r["jobs_with_deadline"], r["deadline_misses"]) == (2, 1)
    # cpu0 busy 10 + 15 (killed) + 10 = 35 of 40; acc0 busy 10 + 8 = 18 of 2 x 40
    assert r["utilization"] == pytest.approx({"cpu0": 35 / 40, "acc0": 18 / 80})
    assert r["utilization_by_type"] == pytest.approx({"cpu": 35 / 40, "acc_fft": 18 / 80})
    assert r["mean_utilization"] == pytest.approx(53 / 120)
    # energy: cpu0 2 W x 35 + 0.5 W x 5; acc0 1 W x 18 + 0.1 W x (80 - 18 - 2 x 5 down)
    assert r["energy_uj"] == pytest.approx({"cpu0": 72.5, "acc0": 18 + 5.2})
    assert r["energy_total_uj"] == pytest.approx(72.5 + 23.2)
    assert r["pe_down_us"] == {"cpu0": 0.0, "acc0": 5.0}
    assert r["per_app"]["appB"]["mean_latency_us"] == pytest.approx(35.0)
    assert r["per_app"]["appA"]["jobs_dropped"] == 1
    json.dumps(r, allow_nan=False)  # strictly JSON-serialisable


def test_metrics_of_an_empty_run_are_null_not_nan() -> None:
    m = MetricsObserver()
    m.on_start(tiny_platform(), 0.0)
    m.on_finish(0.0)
    r = m.result()
    assert r["jobs_completed"] == 0 and r["mean_latency_us"] is None and r["throughput_jobs_per_ms"] is None
    json.dumps(r, allow_nan=False)


def test_metrics_memory_stays_per_job() -> None:
    """200,000 task records through the observer grow its memory by far less than a record each."""
    m = MetricsObserver()
    m.on_start(tiny_platform(), 0.0)
    r = task(0, 0, 0, 0, 0.0, 1.0)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(200_000):
        m.on_task(r)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert m.tasks_completed == 200_000
    assert grown < 10_000


def test_csv_trace_rows(tmp_path) -> None:
    w = CsvTraceWriter(tmp_path / "trace.csv")
    feed(w)
    with open(tmp_path / "trace.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert len(rows) == 5
    killed = [r for r in rows if r["completed"] == "0"]
    assert len(killed) == 1 and float(killed[0]["start_us"]) == 15.0 and float(killed[0]["finish_us"]) == 30.0
    assert {r["pe_name"] for r in rows} == {"cpu0", "acc0"}


def test_perfetto_trace_structure(tmp_path) -> None:
    w = PerfettoTraceWriter(tmp_path / "trace.json")
    feed(w)
    doc = json.loads((tmp_path / "trace.json").read_text())
    events = doc["traceEvents"]
    meta = [e for e in events if e["ph"] == "M"]
    names = {(e["pid"], e["tid"], e["name"]): e["args"].get("name") for e in meta}
    assert names[(1, 0, "process_name")] == "cpu0 (cpu)"
    assert names[(2, 0, "process_name")] == "acc0 (acc_fft)"
    assert names[(2, 0, "thread_name")] == "slot 0" and names[(2, 1, "thread_name")] == "slot 1"
    assert names[(2, 2, "thread_name")] == "down"
    complete = [e for e in events if e["ph"] == "X"]
    tasks = [e for e in complete if e.get("cat") != "failure"]
    assert len(tasks) == 5
    assert sum(1 for e in tasks if e["cat"] == "killed") == 1
    down = [e for e in complete if e.get("cat") == "failure"]
    assert [(e["pid"], e["tid"], e["ts"], e["dur"]) for e in down] == [(2, 2, 30.0, 5.0)]
    assert_no_overlap(events)
    for e in complete:  # every complete event sits on a named thread
        assert (e["pid"], e["tid"], "thread_name") in names


def assert_no_overlap(events: list[dict]) -> None:
    """No two complete events on one (pid, tid) overlap (Perfetto would hide one)."""
    by_track: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for e in events:
        if e["ph"] == "X":
            by_track[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"]))
    for spans in by_track.values():
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert start >= end - 1e-9


def test_perfetto_bus_transfers_are_packed_into_non_overlapping_lanes(tmp_path) -> None:
    w = PerfettoTraceWriter(tmp_path / "trace.json")
    w.on_start(tiny_platform(), 0.0)
    for s, f in [(0, 5), (2, 6), (5, 9), (1, 3), (6, 7)]:
        w.on_transfer(TransferRecord(0, 0, 1, 0, 1, float(s), float(f), 10.0))
    w.on_pe_event(PEEventRecord(0, "cpu0", 8.0, down=True))  # still down at the end: closed at on_finish
    w.on_finish(12.0)
    events = json.loads((tmp_path / "trace.json").read_text())["traceEvents"]
    bus = [e for e in events if e.get("cat") == "bus"]
    assert len(bus) == 5 and all(e["pid"] == 3 for e in bus)
    assert_no_overlap(events)
    down = [e for e in events if e.get("cat") == "failure"]
    assert [(e["ts"], e["dur"]) for e in down] == [(8.0, 4.0)]


def test_gantt_png_is_written_and_capped(tmp_path) -> None:
    g = GanttRecorder(max_tasks=3)
    feed(g)
    assert len(g.tasks) == 3 and g.truncated
    path = g.render(tmp_path / "gantt.png", title="tiny")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000


def test_write_json_turns_nan_into_null(tmp_path) -> None:
    p = write_json(tmp_path / "m.json", {"a": math.nan, "b": [1.0, math.inf], "c": {"d": 2}})
    assert json.loads(p.read_text()) == {"a": None, "b": [1.0, None], "c": {"d": 2}}


def test_atomic_csv_writes_whole_files_and_names_the_source(tmp_path) -> None:
    from soc_emu.errors import SocEmuError
    from soc_emu.output.files import atomic_write_csv

    path = tmp_path / "t.csv"
    path.write_text("old contents\n", encoding="utf-8")
    atomic_write_csv(path, [{"a": 1, "b": "x"}, {"a": 2, "b": "y,z"}], ["a", "b"])
    assert path.read_text(encoding="utf-8") == 'a,b\n1,x\n2,"y,z"\n'
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no temporary file left behind
    with pytest.raises(SocEmuError, match=r"--csv .*missing/t.csv: cannot write"):
        atomic_write_csv(tmp_path / "missing" / "t.csv", [], ["a"], source=f"--csv {tmp_path}/missing/t.csv")
