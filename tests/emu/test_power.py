"""Power, DVFS and thermal model: hand-computed energies, governors, throttling, DS3 power lines, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from soc_emu.cli import main
from soc_emu.engine.options import RunOptions
from soc_emu.engine.records import PowerRecord
from soc_emu.engine.simulation import simulate
from soc_emu.errors import SocEmuError
from soc_emu.formats import load_platform, load_scenario
from soc_emu.model import ArrivalProcess, JobMix, Task, TaskGraph, Workload
from soc_emu.power.thermal import Coupling, ThermalModel, ThermalParams
from soc_emu.runner import RunConfig, execute
from soc_emu.schedulers import make_scheduler

FIXTURES = Path(__file__).parent / "fixtures"
CPU = str(FIXTURES / "power_cpu.toml")
WORK = str(FIXTURES / "power_work.toml")


class PowerLog:
    """Observer keeping every power record."""

    def __init__(self) -> None:
        self.records: list[PowerRecord] = []

    def on_power(self, record: PowerRecord) -> None:
        self.records.append(record)


def one_task_workload(kernel: str, at: tuple[float, ...] = (0.0,)) -> Workload:
    graph = TaskGraph(name="one", tasks=(Task(index=0, name=kernel, kernel=kernel),), edges=())
    return Workload(name="one", mix=JobMix((graph,), (1.0,)), arrivals=ArrivalProcess(kind="trace", trace_us=at))


def run(platform, workload, governor: str | None, *, seed: int = 0, jobs: int | None = None, observers=(),
        scheduler: str = "met"):
    if jobs is None:  # a trace: all of it
        jobs = len(workload.arrivals.trace_us)
    options = RunOptions(seed=seed, num_jobs=jobs, governor=governor)
    return execute(RunConfig(platform=platform, workload=workload, scheduler=scheduler, options=options,
                             observers=observers)).metrics


# ------------------------------------------------------------------ energy against hand computation
@pytest.mark.parametrize(("governor", "latency", "energy"), [
    # 500 MHz: each 10 us task takes 20 us at 0.40 W; idle 30 us of the 70 us run at 0.13 W.
    ("userspace:500", 20.0, 40 * 0.40 + 30 * 0.13),
    ("powersave", 20.0, 40 * 0.40 + 30 * 0.13),
    # 1000 MHz: 10 us tasks at 1.10 W; idle 40 us of the 60 us run at 0.15 W.
    ("performance", 10.0, 20 * 1.10 + 40 * 0.15),
])
def test_energy_is_the_integral_of_power_over_a_hand_computed_schedule(governor, latency, energy) -> None:
    platform, workload = load_scenario(CPU, WORK)
    m = run(platform, workload, governor)
    assert m["mean_latency_us"] == pytest.approx(latency)
    assert m["energy_total_uj"] == pytest.approx(energy)
    assert m["energy_uj"] == {"cpu_0": pytest.approx(energy)}
    assert m["average_power_w"] == pytest.approx(energy / m["sim_span_us"])
    assert m["task_energy_per_job_uj"] == pytest.approx(energy_per_task := (0.40 * 20 if latency == 20 else 1.10 * 10))
    assert m["edp_uj_us"] == pytest.approx(energy / 2 * latency)
    mhz = "500" if latency == 20 else "1000"
    assert m["opp_residency"]["cpu"][mhz] == pytest.approx(1.0)
    assert energy_per_task > 0


def test_memory_bound_fraction_does_not_scale() -> None:
    platform = load_platform(CPU)
    m = run(platform, one_task_workload("mem"), "powersave")
    assert m["mean_latency_us"] == pytest.approx(10 * (0.5 + 0.5 * 1000 / 500))


def test_frequency_change_mid_task_rescales_the_remaining_work() -> None:
    """schedutil with margin 0.5 asks for 500 MHz at the first sample (10 us, utilisation 1): the 100 us
    task has done 10 us of work at 1000 MHz, stalls 5 us for the transition, then does its remaining 90 us
    of nominal work in 180 us: it ends at 195 us. Energy: 10 us at 1.10 W, then 185 us at 0.40 W."""
    base = load_platform(CPU)
    from dataclasses import replace

    cluster = base.power.clusters["cpu"]
    cluster = replace(cluster, transition_us=5.0, governor=replace(cluster.governor, name="schedutil", margin=0.5))
    platform = replace(base, power=replace(base.power, clusters={"cpu": cluster}))
    log = PowerLog()
    m = run(platform, one_task_workload("long"), None, observers=[log])
    assert m["mean_latency_us"] == pytest.approx(195.0)
    assert m["energy_total_uj"] == pytest.approx(10 * 1.10 + 185 * 0.40)
    assert m["opp_transitions"] == {"cpu": 1}
    assert [(r.time_us, r.mhz) for r in log.records if r.mhz == 500.0][0] == (pytest.approx(10.0), 500.0)


# ------------------------------------------------------------------ governors on the default workload
def test_powersave_uses_least_energy_and_performance_gives_lowest_latency() -> None:
    results = {g: run("hetero_dvfs", "ds3_mix", g, jobs=150, seed=3, scheduler="etf")
               for g in ("performance", "powersave", "ondemand", "schedutil", "userspace:1000")}
    energy = {g: m["energy_total_uj"] for g, m in results.items()}
    latency = {g: m["mean_latency_us"] for g, m in results.items()}
    assert min(energy, key=energy.get) == "powersave"
    assert min(latency, key=latency.get) == "performance"
    assert all(energy["powersave"] < energy[g] for g in energy if g != "powersave")
    assert all(latency["performance"] < latency[g] for g in latency if g != "performance")


def test_performance_on_hetero_dvfs_reproduces_the_fixed_power_platform() -> None:
    """hetero_dvfs is calibrated so that its top OPP draws hetero's fixed powers."""
    fixed = run("hetero", "ds3_mix", None, jobs=100)
    dvfs = run("hetero_dvfs", "ds3_mix", None, jobs=100)
    assert dvfs["mean_latency_us"] == fixed["mean_latency_us"]
    assert dvfs["energy_total_uj"] == pytest.approx(fixed["energy_total_uj"], rel=1e-9)
    assert dvfs["energy_uj"] == pytest.approx(fixed["energy_uj"], rel=1e-9)


def test_same_seed_gives_the_same_frequency_and_temperature_traces() -> None:
    def trace(seed: int) -> list[tuple]:
        log = PowerLog()
        run("hetero_dvfs", "ds3_mix", "ondemand", jobs=60, seed=seed, observers=[log])
        return [(r.time_us, r.cluster, r.mhz, r.power_w, None if math.isnan(r.temperature_c) else r.temperature_c)
                for r in log.records]

    first = trace(5)
    assert first == trace(5)
    assert len({r[2] for r in first if r[1] == "big"}) > 1  # the governor did change the frequency
    assert first != trace(6)


# ------------------------------------------------------------------ thermal
def test_thermal_steady_state_is_ambient_plus_power_times_resistance() -> None:
    node = ThermalModel(["c"], [ThermalParams(resistance_c_per_w=4.0, capacitance_j_per_c=0.01)], ambient_c=30.0)
    node.set_power(0, 2.5)
    node.advance(40_000.0)  # one time constant (R C = 0.04 s)
    assert node.temperature(0) == pytest.approx(30.0 + 2.5 * 4.0 * (1 - math.exp(-1)))
    node.advance(2e6)
    assert node.temperature(0) == pytest.approx(30.0 + 2.5 * 4.0)


def test_coupled_steady_state_solves_the_conductance_equations() -> None:
    model = ThermalModel(["a", "b"], [ThermalParams(2.0, 0.01), ThermalParams(4.0, 0.02)],
                         [Coupling("a", "b", 5.0)], ambient_c=25.0)
    model.set_power(0, 3.0)
    model.set_power(1, 1.0)
    model.advance(1e8)
    # (1/2 + 1/5) x - 1/5 y = 3 and -1/5 x + (1/4 + 1/5) y = 1
    x = (3 * 0.45 + 0.2) / (0.7 * 0.45 - 0.04)
    y = (1 + 0.2 * x) / 0.45
    assert (model.temperature(0), model.temperature(1)) == (pytest.approx(25 + x), pytest.approx(25 + y))


def _thermal_cpu(trip_c: float):
    """power_cpu with a thermal node: R 20 C/W, C 5 uJ/C (tau 100 us); busy at 1000 MHz: 25 + 1.1 x 20 = 47 C."""
    from dataclasses import replace

    base = load_platform(CPU)
    cluster = replace(base.power.clusters["cpu"], thermal=ThermalParams(
        resistance_c_per_w=20.0, capacitance_j_per_c=5e-6, trip_c=(trip_c,), trip_mhz=(500.0,), hysteresis_c=2.0))
    return replace(base, power=replace(base.power, clusters={"cpu": cluster}))


def test_throttling_engages_above_the_trip_temperature_and_only_there() -> None:
    log = PowerLog()
    m = run(_thermal_cpu(40.0), one_task_workload("long", (0.0, 0.0, 0.0, 0.0, 0.0)), None, observers=[log])
    assert m["time_throttled_us"]["cpu"] > 0
    engaged = [b for a, b in zip(log.records, log.records[1:]) if b.throttled and not a.throttled]
    released = [b for a, b in zip(log.records, log.records[1:]) if a.throttled and not b.throttled]
    assert engaged and all(r.temperature_c >= 40.0 for r in engaged)
    assert all(r.temperature_c < 40.0 - 2.0 for r in released)
    assert all(r.mhz == 500.0 for r in log.records if r.throttled)
    assert m["peak_temperature_c"] < 47.0
    # A trip above the steady state (47 C) is never reached: no throttling, full speed throughout.
    log = PowerLog()
    m = run(_thermal_cpu(48.0), one_task_workload("long", (0.0, 0.0, 0.0, 0.0, 0.0)), None, observers=[log])
    assert m["time_throttled_us"]["cpu"] == 0.0
    assert {r.mhz for r in log.records} == {1000.0}
    assert m["mean_latency_us"] == pytest.approx((100 + 200 + 300 + 400 + 500) / 5)


# ------------------------------------------------------------------ DS3 files
def test_ds3_power_lines_are_read_exactly() -> None:
    p = load_platform(str(FIXTURES / "ds3_power_soc.txt"))
    a7, a15 = p.power.clusters["A7"], p.power.clusters["A15"]
    assert [(o.mhz, o.mv) for o in a7.opps.points] == [(600, 1000), (800, 1075), (1000, 1150), (1200, 1250), (1400, 1300)]
    assert [(o.mhz, o.mv) for o in a15.opps.points][-1] == (2000, 1362) and len(a15.opps) == 8
    assert a7.model.profile == {1000: (0.19, 0.29, 0.35, 0.40), 1400: (0.39, 0.59, 0.72, 0.81)}
    assert a7.model.pg_profile == {1000: (0.13, 0.23, 0.31, 0.40), 1400: (0.27, 0.46, 0.63, 0.81)}
    assert a15.model.profile[2000] == (3.32, 5.05, 6.15, 6.91)
    assert a7.thermal.trip_mhz == (-1.0, 1200.0, 600.0) and a15.thermal.trip_mhz == (1600.0, 1000.0, 600.0)
    assert a7.governor.name == "ondemand" and a15.governor.name == "performance"
    # PG mode: two busy A7 cores at 1400 MHz draw 0.46 W together; at 1200 MHz (not listed) the 1400 MHz
    # figure scales with f V^2.
    assert a7.model.cluster_power(a7.opps, 4, 2) == pytest.approx(0.46)
    assert a7.model.cluster_power(a7.opps, 3, 2) == pytest.approx(0.46 * 1200 / 1400 * (1250 / 1300) ** 2)
    assert a7.model.cluster_power(a7.opps, 4, 0) == 0.0


def test_ds3_cluster_energy_under_performance_is_the_profile_power() -> None:
    """Two alpha tasks at once on the A15 cluster (8 us at 2000 MHz) draw PG_profile[2000][2 cores]."""
    platform = load_platform(str(FIXTURES / "ds3_power_soc.txt"))
    graph = TaskGraph(name="two", tasks=(Task(0, "a", "alpha"), Task(1, "b", "alpha")), edges=())
    workload = Workload(name="two", mix=JobMix((graph,), (1.0,)), arrivals=ArrivalProcess(kind="trace", trace_us=(0.0,)))
    sim = simulate(platform, workload, make_scheduler("met"), RunOptions(num_jobs=1, governor="performance"))
    metrics = sim.power.metrics(1, 8.0)
    assert metrics["energy_by_cluster_uj"]["A15"] == pytest.approx(8 * 3.73)
    assert metrics["energy_by_cluster_uj"]["A7"] == 0.0  # all cores idle and power gated


# ------------------------------------------------------------------ bad input
BAD_TOML = [
    ('ceff_nf = 1.0\nopp = [[1000, 900], [800, 950]]', "power.cluster[0].opp", "increase"),
    ('ceff_nf = 1.0\nopp = [[1000, 0]]', "power.cluster[0].opp[0].mV", "expected a number in [1, 100000] mV"),
    ('ceff_nf = 1.0\nopp = [[-5, 900]]', "power.cluster[0].opp[0].MHz", "expected a number in [1, 100000] MHz"),
    ('ceff_nf = 1.0\nopp = [[1000, 900]]\ngovernor = "turbo"', "power.cluster[0].governor", "unknown governor"),
    ('opp = [[1000, 900]]\nprofile = [{ mhz = 1000, watts = [0.1, 0.2] }]', "power.cluster[0].profile", "1 slots"),
    ('ceff_nf = 1.0\nopp = [[1000, 900]]\n[power.cluster.thermal]\nresistance_c_per_w = -2.0\ncapacitance_j_per_c = 1.0',
     "power.cluster[0].thermal.resistance_c_per_w", "expected a number in (0, 1e6] C/W"),
]


@pytest.mark.parametrize(("cluster", "field", "message"), BAD_TOML)
def test_bad_power_tables_name_file_and_field(tmp_path, capsys, cluster, field, message) -> None:
    text = (FIXTURES / "power_cpu.toml").read_text().split("[[power.cluster]]")[0]
    path = tmp_path / "bad.toml"
    path.write_text(text + '[[power.cluster]]\nname = "cpu"\n' + cluster + "\n")
    with pytest.raises(SocEmuError) as err:
        load_platform(str(path))
    assert field in str(err.value) and message in str(err.value)
    assert main(["run", "--platform", str(path), "--workload", WORK]) == 2
    err_lines = capsys.readouterr().err.strip().splitlines()
    assert len(err_lines) == 1 and err_lines[0].startswith("soc-emu: error: ") and field in err_lines[0]


def test_ds3_power_profile_for_more_cores_than_slots(tmp_path) -> None:
    text = (FIXTURES / "ds3_power_soc.txt").read_text().replace("power_profile 1000 0.19 0.29 0.35 0.40",
                                                               "power_profile 1000 0.19 0.29 0.35 0.40 0.45")
    path = tmp_path / "soc.txt"
    path.write_text(text)
    with pytest.raises(SocEmuError, match="5 core counts for a resource of capacity 4") as err:
        load_platform(str(path))
    assert "soc.txt: line" in str(err.value)


@pytest.mark.parametrize(("argv", "message"), [
    (["--platform", "hetero_dvfs", "--governor", "turbo"], "--governor: unknown governor 'turbo'"),
    (["--platform", "hetero", "--governor", "ondemand"], "--governor: platform 'hetero' has no operating points"),
    (["--platform", "hetero_dvfs", "--governor", "ondemand:800"], "--governor: only userspace takes a frequency"),
])
def test_bad_governor_flag(capsys, argv, message) -> None:
    assert main(["run", "--jobs", "5", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"soc-emu: error: {message}" + err[0].split(message, 1)[1]] and message in err[0]


# ------------------------------------------------------------------ outputs
def test_power_timeline_csv_and_perfetto_counters(tmp_path) -> None:
    import csv
    import json

    result = execute(RunConfig(platform="hetero_dvfs", scheduler="etf", out_dir=tmp_path, gantt=False,
                               options=RunOptions(num_jobs=20, governor="ondemand")))
    rows = list(csv.DictReader(open(result.paths["power_csv"], encoding="utf-8")))
    assert {r["cluster"] for r in rows} >= {"little", "big", "dsp", "gpu"}
    big = [r for r in rows if r["cluster"] == "big"]
    assert len({r["mhz"] for r in big}) > 1 and all(r["temperature_c"] for r in big)
    events = json.loads(result.paths["trace_json"].read_text())["traceEvents"]
    counters = {e["name"] for e in events if e["ph"] == "C"}
    assert {"big MHz", "big W", "big C", "gpu MHz", "gpu W"} <= counters and "gpu C" not in counters
    # The timeline integrates to the reported energy of each cluster.
    end = result.metrics["sim_span_us"]
    for cluster in ("big", "gpu"):
        rs = [r for r in rows if r["cluster"] == cluster]
        times = [float(r["time_us"]) for r in rs] + [end]
        energy = sum(float(r["power_w"]) * (b - a) for r, a, b in zip(rs, times, times[1:]))
        assert energy == pytest.approx(result.metrics["energy_by_cluster_uj"][cluster])


def test_text_report_shows_power_figures(capsys) -> None:
    assert main(["run", "--platform", "hetero_dvfs", "--jobs", "10", "--governor", "schedutil"]) == 0
    out = capsys.readouterr().out
    assert "average power / EDP" in out and "temperature peak / mean" in out


# ------------------------------------------------------------------ energy-aware scheduling
def test_energy_aware_etf_trades_latency_for_energy() -> None:
    etf = run("hetero_dvfs", "ds3_mix", "performance", jobs=100, scheduler="etf")
    eetf = run("hetero_dvfs", "ds3_mix", "performance", jobs=100, scheduler="energy_etf")
    assert eetf["energy_total_uj"] < 0.8 * etf["energy_total_uj"]
    assert eetf["mean_latency_us"] > etf["mean_latency_us"]
    assert eetf["edp_uj_us"] < etf["edp_uj_us"]


def test_energy_weight_one_picks_the_least_energy_pe() -> None:
    """Two single-slot CPUs, both idle: 'fast' takes 10 us at 1.1 W (11 uJ), 'slow' 30 us at 0.2 W (6 uJ)."""
    from soc_emu.model.platform import Interconnect, Link, Platform, ProcessingElement

    pes = (ProcessingElement(0, "fast", "cpu", "a", 1, {"k": 10.0}, active_power_w=1.2, idle_power_w=0.1),
           ProcessingElement(1, "slow", "cpu", "b", 1, {"k": 30.0}, active_power_w=0.25, idle_power_w=0.05))
    platform = Platform("two", pes, Interconnect(default=Link(math.inf)))
    for weight, latency in ((1.0, 30.0), (0.0, 10.0)):
        sim = simulate(platform, one_task_workload("k"), make_scheduler("energy_etf", energy_weight=weight),
                       RunOptions(num_jobs=1))
        assert sim.now == latency
    with pytest.raises(SocEmuError, match="energy_weight"):
        make_scheduler("energy_etf", energy_weight=2.0)


def test_view_reports_energy_so_far() -> None:
    platform, workload = load_scenario(CPU, WORK)
    seen = []

    class Recorder:
        name = "rec"

        def __init__(self) -> None:
            self.inner = make_scheduler("met")
            self.binding = self.inner.binding

        def reset(self, platform, rng) -> None:
            self.inner.reset(platform, rng)

        def decide(self, view):
            seen.append((view.now, view.energy_uj))
            return self.inner.decide(view)

    simulate(platform, workload, Recorder(), RunOptions(num_jobs=2, governor="performance"))
    assert seen == [(0.0, 0.0), (50.0, pytest.approx(10 * 1.10 + 40 * 0.15))]
