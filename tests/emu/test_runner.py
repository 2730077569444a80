"""The run facade end to end: real engine, real schedulers, real loaders, outputs cross-checked."""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import pytest

from soc_emu.engine.options import FailureModel, RunOptions
from soc_emu.errors import SocEmuError
from soc_emu.model.platform import Interconnect, Link, Platform, ProcessingElement
from soc_emu.model.taskgraph import Edge, Task, TaskGraph
from soc_emu.model.workload import ArrivalProcess, JobMix, Workload
from soc_emu.runner import ArrivalOverrides, RunConfig, execute, resolve_scenario


def tiny_platform() -> Platform:
    """A 1-slot CPU (2 W busy, 0.5 W idle) and a 2-slot accelerator (1 W busy, 0.1 W idle), both running
    kernels a and b (10 us on the CPU, 8 us on the accelerator)."""
    return Platform(
        name="tiny",
        pes=(
            ProcessingElement(0, "cpu0", "cpu", "c", 1, {"a": 10.0, "b": 10.0}, active_power_w=2.0, idle_power_w=0.5),
            ProcessingElement(1, "acc0", "acc_fft", "f", 2, {"a": 8.0, "b": 8.0}, active_power_w=1.0, idle_power_w=0.1),
        ),
        interconnect=Interconnect(default=Link(bandwidth=1.0)),
    )


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


def chain_workload() -> Workload:
    """One job at t=0: task a -> task b (no data)."""
    graph = TaskGraph("chain", (Task(0, "a", "a"), Task(1, "b", "b")), (Edge(0, 1, 0.0),), deadline_us=10.0)
    return Workload("one_chain", JobMix((graph,), (1.0,)), ArrivalProcess(kind="trace", trace_us=(0.0,)))


def test_hand_computed_run_on_a_tiny_platform() -> None:
    """MET puts both tasks on the accelerator (8 us each vs 10 us on the CPU): latency 16 us."""
    result = execute(RunConfig(platform=tiny_platform(), workload=chain_workload(), scheduler="met",
                               options=RunOptions(num_jobs=1)))
    m = result.metrics
    assert (m["jobs_completed"], m["tasks_completed"]) == (1, 2)
    assert m["mean_latency_us"] == pytest.approx(16.0)
    assert m["makespan_us"] == pytest.approx(16.0)
    assert m["utilization"] == pytest.approx({"cpu0": 0.0, "acc0": 16 / 32})
    # cpu0 idle 16 us at 0.5 W; acc0 busy 16 slot-us at 1 W and idle 16 slot-us at 0.1 W
    assert m["energy_uj"] == pytest.approx({"cpu0": 8.0, "acc0": 17.6})
    assert (m["jobs_with_deadline"], m["deadline_misses"]) == (1, 1)
    assert result.summary["jobs_completed"] == 1
    assert result.paths == {}


@pytest.mark.parametrize("scheduler", ["etf", "heft"])  # first-ready and in-order dispatch
def test_outputs_agree_with_metrics(tmp_path, scheduler: str) -> None:
    """With failures and noise: the CSV's per-PE busy time reproduces the utilisation figures, the
    Perfetto trace has no overlapping events per track, and both JSON files are written."""
    failures = FailureModel(mtbf_us=3000.0, repair_us=300.0)
    result = execute(RunConfig(platform="ds3", workload="ds3_mix", scheduler=scheduler,
                               options=RunOptions(seed=3, num_jobs=60, noise_rsd=0.1, failures=failures),
                               out_dir=tmp_path / "out", gantt_max_tasks=200))
    m = result.metrics
    assert m["pe_failures"] > 0 and m["tasks_killed"] > 0  # the scenario exercises failures
    assert set(result.paths) == {"trace_csv", "trace_json", "gantt_png", "config_json", "metrics_json"}
    assert all(p.exists() for p in result.paths.values())
    with open(result.paths["trace_csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == m["tasks_completed"] + m["tasks_killed"]
    assert sum(r["completed"] == "1" for r in rows) == m["tasks_completed"]
    busy: dict[str, float] = defaultdict(float)
    for r in rows:
        busy[r["pe_name"]] += float(r["finish_us"]) - float(r["start_us"])
    for pe in result.platform.pes:
        assert busy[pe.name] == pytest.approx(m["utilization"][pe.name] * pe.capacity * m["sim_span_us"], abs=1e-6)
    events = json.loads(result.paths["trace_json"].read_text())["traceEvents"]
    assert sum(1 for e in events if e["ph"] == "X" and e.get("cat") != "failure") == len(rows)
    assert_no_overlap(events)
    assert json.loads(result.paths["metrics_json"].read_text())["tasks_completed"] == m["tasks_completed"]
    config = json.loads(result.paths["config_json"].read_text())
    assert config["seed"] == 3 and config["run_options"]["noise_rsd"] == 0.1
    assert config["run_options"]["failures"] == {"mtbf_us": 3000.0, "repair_us": 300.0, "pe_types": None}
    assert config["scheduler"]["name"] == scheduler and config["platform"]["name"] == "ds3"
    assert {"soc_emu", "python", "numpy", "simpy"} <= set(config["versions"])


def test_same_seed_same_metrics_and_overrides_apply() -> None:
    def run(seed: int) -> dict:
        return execute(RunConfig(platform="ds3", workload="ds3_mix", scheduler="met",
                                 options=RunOptions(seed=seed, num_jobs=40),
                                 arrivals=ArrivalOverrides(rate_jobs_per_ms=2.0))).metrics

    a, b = run(7), run(7)
    for key in ("mean_latency_us", "p95_latency_us", "makespan_us", "energy_total_uj", "tasks_completed"):
        assert a[key] == b[key]
    # 40 jobs at 2 jobs/ms arrive over ~20 ms
    assert 10_000 < a["makespan_us"] < 40_000


def test_cap_and_drop_overrides() -> None:
    result = execute(RunConfig(platform="ds3", workload="ds3_mix", scheduler="met",
                               options=RunOptions(seed=1, num_jobs=80),
                               arrivals=ArrivalOverrides(rate_jobs_per_ms=50.0, max_jobs_in_system=2,
                                                         drop_when_full=True)))
    m = result.metrics
    assert result.workload.max_jobs_in_system == 2 and result.workload.drop_when_full
    assert m["jobs_dropped"] > 0 and m["jobs_completed"] + m["jobs_dropped"] == 80
    assert result.config["workload"]["arrivals"]["mean_interarrival_us"] == pytest.approx(20.0)


def test_comma_separated_workloads_form_a_mix() -> None:
    _, w = resolve_scenario("ds3", "wifi_tx,radar")
    assert [g.name for g in w.mix.graphs] == ["wifi_tx", "radar"]
    assert w.mix.normalised == pytest.approx((0.5, 0.5))


@pytest.mark.parametrize(
    ("overrides", "flag"),
    [
        (ArrivalOverrides(rate_jobs_per_ms=0.0), "--rate"),
        (ArrivalOverrides(rate_jobs_per_ms=-1.0), "--rate"),
        (ArrivalOverrides(mean_interarrival_us=0.0), "--interarrival"),
        (ArrivalOverrides(rate_jobs_per_ms=1.0, mean_interarrival_us=1.0), "--rate"),
        (ArrivalOverrides(max_jobs_in_system=0), "--max-jobs"),
    ],
)
def test_bad_overrides_name_their_flag(overrides: ArrivalOverrides, flag: str) -> None:
    with pytest.raises(SocEmuError) as info:
        execute(RunConfig(platform="ds3", workload="ds3_mix", scheduler="met", arrivals=overrides))
    assert info.value.source == flag
