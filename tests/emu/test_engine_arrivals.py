"""Job arrivals (Poisson, fixed, trace), the application mix, admission control and stop conditions."""

from __future__ import annotations

import numpy as np
import pytest

from soc_emu.engine.arrivals import JobSource
from soc_emu.engine.simulation import RunOptions, Simulation, simulate
from soc_emu.errors import SocEmuError
from soc_emu.model.workload import ArrivalProcess
from soc_emu.schedulers import make_scheduler


def _stream(source: JobSource) -> list[tuple[float, str]]:
    out = []
    while (item := source.next()) is not None:
        out.append((item[0], item[1].name))
    return out


def test_poisson_gaps_are_exponential_and_the_mix_follows_its_probabilities(make_graph, make_workload):
    graphs = [make_graph(["a"], name=n) for n in ("x", "y", "z")]
    workload = make_workload(graphs, arrivals=ArrivalProcess("poisson", 50.0), probabilities=(2.0, 1.0, 1.0))
    arrivals = _stream(JobSource(workload, np.random.default_rng(7), max_jobs=40_000))
    times = np.array([t for t, _ in arrivals])
    gaps = np.diff(times)
    assert times[0] == 0.0 and len(arrivals) == 40_000
    assert gaps.mean() == pytest.approx(50.0, rel=0.02)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.03)  # exponential: CV = 1
    assert np.mean(gaps > 50.0) == pytest.approx(np.exp(-1.0), abs=0.01)  # P(gap > mean) = 1/e
    names = [n for _, n in arrivals]
    assert names.count("x") / len(names) == pytest.approx(0.5, abs=0.01)
    assert names.count("y") / len(names) == pytest.approx(0.25, abs=0.01)


def test_arrival_stream_depends_only_on_its_seed(make_graph, make_workload):
    workload = make_workload([make_graph(["a"], name="x"), make_graph(["a"], name="y")], arrivals=ArrivalProcess("poisson", 10.0))
    first = _stream(JobSource(workload, np.random.default_rng(3), max_jobs=3000))
    again = _stream(JobSource(workload, np.random.default_rng(3), max_jobs=3000))
    other = _stream(JobSource(workload, np.random.default_rng(4), max_jobs=3000))
    assert first == again and first != other


def test_fixed_and_trace_arrivals(make_graph, make_workload):
    x, y = make_graph(["a"], name="x"), make_graph(["a"], name="y")
    fixed = make_workload([x], arrivals=ArrivalProcess("fixed", 2.5))
    assert [t for t, _ in _stream(JobSource(fixed, np.random.default_rng(0), max_jobs=5))] == [0.0, 2.5, 5.0, 7.5, 10.0]
    trace = make_workload([x, y], arrivals=ArrivalProcess("trace", trace_us=(1.0, 1.0, 4.0), trace_apps=("y", "x", "y")))
    assert _stream(JobSource(trace, np.random.default_rng(0))) == [(1.0, "y"), (1.0, "x"), (4.0, "y")]
    assert [t for t, _ in _stream(JobSource(fixed, np.random.default_rng(0), until_us=6.0))] == [0.0, 2.5, 5.0]


def _capped(make_pe, make_platform, make_graph, make_workload, drop: bool):
    platform = make_platform([make_pe(0, {"a": 10.0})])
    workload = make_workload(make_graph(["a"]), arrivals=ArrivalProcess("fixed", 1.0), max_jobs_in_system=2, drop_when_full=drop)
    return platform, workload


def test_admission_cap_makes_arrivals_wait_in_order(make_pe, make_platform, make_graph, make_workload, recorder):
    platform, workload = _capped(make_pe, make_platform, make_graph, make_workload, drop=False)
    sim = simulate(platform, workload, make_scheduler("met"), RunOptions(num_jobs=5), observers=[recorder])
    jobs = sorted(recorder.jobs, key=lambda j: j.job_id)
    assert [j.arrival_us for j in jobs] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert [j.admitted_us for j in jobs] == [0.0, 1.0, 10.0, 20.0, 30.0]
    assert [j.finish_us for j in jobs] == [10.0, 20.0, 30.0, 40.0, 50.0]
    assert [j.admission_wait_us for j in jobs] == [0.0, 0.0, 8.0, 17.0, 26.0]
    assert [j.latency_us for j in jobs] == [10.0, 19.0, 20.0, 20.0, 20.0]  # counted from admission
    assert sim.jobs_completed == 5 and sim.jobs_dropped == 0


def test_admission_cap_drops_arrivals_when_full(make_pe, make_platform, make_graph, make_workload, recorder):
    platform, workload = _capped(make_pe, make_platform, make_graph, make_workload, drop=True)
    sim = simulate(platform, workload, make_scheduler("met"), RunOptions(num_jobs=12), observers=[recorder])
    dropped = sorted(j.job_id for j in recorder.jobs if j.dropped)
    done = sorted(j.job_id for j in recorder.jobs if not j.dropped)
    # Jobs 0 and 1 fill the system; 2..9 arrive while it is full; job 0 leaves at 10 just before job 10
    # arrives (it was scheduled first), so job 10 gets in; job 11 finds jobs 1 and 10 still there.
    assert done == [0, 1, 10] and dropped == [2, 3, 4, 5, 6, 7, 8, 9, 11]
    assert sim.jobs_dropped == 9 and sim.jobs_completed == 3
    assert all(np.isnan(j.admitted_us) and np.isnan(j.finish_us) for j in recorder.jobs if j.dropped)


def test_duration_stops_the_run_at_that_time(hetero_platform, make_graph, make_workload, recorder):
    workload = make_workload(make_graph(["fft", "mm"], [(0, 1, 1.0)]), arrivals=ArrivalProcess("poisson", 20.0))
    sim = simulate(hetero_platform, workload, make_scheduler("etf"), RunOptions(num_jobs=None, duration_us=1000.0), observers=[recorder])
    assert sim.now == 1000.0 and recorder.end_us == 1000.0
    assert all(r.finish_us <= 1000.0 for r in recorder.tasks)
    assert all(j.arrival_us < 1000.0 for j in recorder.jobs)
    assert sim.jobs_arrived == sim.jobs_completed + sim.jobs_in_system + sim.jobs_waiting + sim.jobs_dropped
    assert 30 < sim.jobs_arrived < 75  # about 1000 / 20 + 1


def test_num_jobs_runs_until_every_job_left(hetero_platform, make_graph, make_workload):
    workload = make_workload(make_graph(["fft", "vit"], [(0, 1, 3.0)]), arrivals=ArrivalProcess("poisson", 5.0))
    sim = simulate(hetero_platform, workload, make_scheduler("met"), RunOptions(num_jobs=200))
    assert sim.jobs_completed == 200 and sim.tasks_completed == 400 and sim.jobs_in_system == 0


def test_run_without_a_stop_condition_is_rejected(hetero_platform, make_graph, make_workload):
    workload = make_workload(make_graph(["fft"]), arrivals=ArrivalProcess("poisson", 5.0))
    with pytest.raises(SocEmuError, match="num_jobs or duration_us"):
        Simulation(hetero_platform, workload, RunOptions(num_jobs=None))


@pytest.mark.parametrize(
    "kwargs", [{"num_jobs": 0}, {"duration_us": -1.0}, {"noise_rsd": -0.1}, {"seed": -3}, {"noise_rsd": float("nan")}]
)
def test_bad_run_options_are_user_errors(kwargs):
    with pytest.raises(SocEmuError):
        RunOptions(**kwargs)
