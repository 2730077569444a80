"""Our TOML formats: platform, application and workload files, and one clear error per malformed input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from soc_emu.errors import SocEmuError
from soc_emu.formats import load_platform, load_workload

FIXTURES = Path(__file__).parent / "fixtures"


def test_platform_file():
    p = load_platform(str(FIXTURES / "tiny_platform.toml"))
    assert [pe.name for pe in p.pes] == ["little_0", "little_1", "big_0", "gpu_0"]
    assert [pe.cluster for pe in p.pes] == ["cpu", "cpu", "cpu", "gpu"]  # cluster defaults to the group name
    assert p.pes[3].capacity == 2 and p.pes[3].launch_overhead_us == 8 and p.pes[3].pe_type == "gpu"
    assert p.pes[0].active_power_w == 0.5 and p.pes[0].idle_power_w == 0.1
    assert p.pes[2].exec_time("gamma") == 15
    assert not p.pes[3].supports("alpha")
    assert p.transfer_time(0, 0, 1e6) == 0.0  # same PE: infinite bandwidth
    assert p.transfer_time(0, 2, 100) == pytest.approx(1.0 + 100 / 1000)  # cpu-cpu link, default latency
    assert p.transfer_time(2, 3, 100) == pytest.approx(2.0 + 100 / 10)  # cpu-gpu link
    assert p.source.endswith("tiny_platform.toml")
    assert p.interconnect.shared_bus is False
    assert math.isinf(p.interconnect.same_pe.bandwidth)


def test_workload_file_with_relative_app_paths_and_trace():
    w = load_workload(str(FIXTURES / "tiny_mix.toml"))
    assert w.name == "tiny_mix"
    assert [g.name for g in w.mix.graphs] == ["tiny", "pair"]
    assert w.mix.normalised == (0.75, 0.25)
    assert w.max_jobs_in_system == 3 and w.drop_when_full
    assert w.arrivals.kind == "trace" and w.arrivals.trace_us == (0.0, 5.0, 5.0, 20.0)
    pair = w.mix.graph("pair")
    assert pair.deadline_us == 50.0
    assert [t.kernel for t in pair.tasks] == ["alpha", "gamma"]
    assert [(e.src, e.dst, e.volume) for e in pair.edges] == [(0, 1, 100.0)]


def test_single_application_file_gets_default_arrivals():
    w = load_workload(str(FIXTURES / "tiny_app.toml"))
    assert [g.name for g in w.mix.graphs] == ["pair"]
    assert w.arrivals.kind == "poisson" and w.max_jobs_in_system is None


PLATFORM = """\
name = "p"
[interconnect]
bandwidth = 10.0
[[pe_group]]
name = "cpu"
type = "cpu"
[pe_group.exec_times_us]
a = 1.0
[[pe_group]]
name = "acc"
type = "acc_fft"
[pe_group.exec_times_us]
fft = 2.0
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("bandwidth = 10.0", "bandwidth = ", r"hetero\.toml: TOML syntax error: .*line 3"),
        ('name = "p"\n', "", r"hetero\.toml: name: missing required field"),
        ("fft = 2.0", 'fft = "x"', r'hetero\.toml: pe_group\[1\]\.exec_times_us\.fft: expected a number in \[0, 1e12\] us, got "x"'),
        ("fft = 2.0", "fft = -1.0", r"hetero\.toml: pe_group\[1\]\.exec_times_us\.fft: expected a number in \[0, 1e12\] us, got -1\.0"),
        ("bandwidth = 10.0", "bandwidth = 0.0", r"hetero\.toml: interconnect\.bandwidth: expected a number in \[1e-6, 1e12\]"),
        ('type = "acc_fft"', 'type = "acc_fft"\ncount = 0', r"hetero\.toml: pe_group\[1\]\.count: expected an integer in \[1, 1024\] PEs, got 0"),
        ('type = "acc_fft"', 'type = "acc_fft"\ncapacity = 1.5', r"hetero\.toml: pe_group\[1\]\.capacity: expected an integer in \[1, 256\]"),
        ('type = "acc_fft"', 'type = "acc_fft"\nlaunch_overhed_us = 3', r"hetero\.toml: pe_group\[1\]\.launch_overhed_us: unknown key; did you mean 'launch_overhead_us'\?"),
        ("bandwidth = 10.0", "bandwidth = 10.0\nshared_bus = 1", r"hetero\.toml: interconnect\.shared_bus: expected true or false, got 1"),
        ('name = "acc"', 'name = "cpu"', r"hetero\.toml: pe_group\[1\]\.name: duplicate PE group name 'cpu'"),
        ("bandwidth = 10.0", 'bandwidth = 10.0\n[[interconnect.link]]\nbetween = ["cpu", "ac"]\nbandwidth = 1',
         r"hetero\.toml: interconnect\.link\[0\]\.between: unknown cluster 'ac'; did you mean 'acc'\?"),
        ("[interconnect]\nbandwidth = 10.0\n", "", r"hetero\.toml: interconnect: missing required field"),
        ("fft = 2.0", "", r"hetero\.toml: pe_group\[1\]\.exec_times_us: a PE group must run at least one kernel"),
    ],
)
def test_malformed_platform(tmp_path, old, new, message):
    assert old in PLATFORM
    path = tmp_path / "hetero.toml"
    path.write_text(PLATFORM.replace(old, new, 1))
    with pytest.raises(SocEmuError, match=message):
        load_platform(str(path))


APP = """\
name = "app"
tasks = [ { name = "a" }, { name = "b", kernel = "fft" }, { name = "c" } ]
edges = [ { src = "a", dst = "b", volume = 10 }, { src = "b", dst = "c" } ]
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('dst = "b"', 'dst = "bb"', r"app\.toml: edges\[0\]\.dst: unknown task 'bb'; did you mean 'b'\?"),
        ("volume = 10", "volume = -10", r"app\.toml: edges\[0\]\.volume: expected a number in \[0, 1e12\]"),
        ('src = "b", dst = "c" }', 'src = "b", dst = "c" }, { src = "c", dst = "a" }', r"app\.toml: edges: the task graph has a cycle: a -> b -> c -> a"),
        ('{ name = "c" }', '{ name = "a" }', r"app\.toml: tasks\[2\]\.name: duplicate task name 'a'"),
        ('{ name = "c" }', '{ name = "c", kernal = "x" }', r"app\.toml: tasks\[2\]\.kernal: unknown key; did you mean 'kernel'\?"),
        ('name = "app"', 'name = "app"\ndeadline_us = 0', r"app\.toml: deadline_us: expected a number in \(0, 1e12\] us"),
        ('{ name = "a" }, ', '"a", ', r"app\.toml: tasks\[0\]: expected a table, got \"a\""),
    ],
)
def test_malformed_application(tmp_path, old, new, message):
    assert old in APP
    path = tmp_path / "app.toml"
    path.write_text(APP.replace(old, new, 1))
    with pytest.raises(SocEmuError, match=message):
        load_workload(str(path))


MIX = """\
name = "mix"
applications = [ { app = "radar", probability = 0.5 }, { app = "wifi_tx", probability = 0.5 } ]
[arrivals]
kind = "poisson"
mean_interarrival_us = 50.0
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('app = "radar"', 'app = "radr"', r"mix\.toml: applications\[0\]\.app: unknown application 'radr'; did you mean 'radar'\?"),
        ('app = "radar"', 'app = "missing.toml"', r"missing\.toml: no such file"),
        ("probability = 0.5 }, {", "probability = -1 }, {", r"mix\.toml: applications\[0\]\.probability: expected a number in \[0, 1e6\]"),
        ('kind = "poisson"', 'kind = "bursty"', r'mix\.toml: arrivals\.kind: expected poisson, fixed or trace, got "bursty"'),
        ("mean_interarrival_us = 50.0", "rate_jobs_per_ms = 0", r"mix\.toml: arrivals\.rate_jobs_per_ms: expected a number in \[1e-6, 1e6\] jobs/ms"),
        ("mean_interarrival_us = 50.0", "", r"mix\.toml: arrivals\.mean_interarrival_us: poisson arrivals need"),
        ("mean_interarrival_us = 50.0", "mean_interarrival_us = 50.0\nrate_jobs_per_ms = 2.0", r"mix\.toml: arrivals\.rate_jobs_per_ms: give .* not both"),
        ('kind = "poisson"\nmean_interarrival_us = 50.0', 'kind = "trace"\ntrace_us = [5.0, 1.0]', r"mix\.toml: arrivals\.trace_us: arrival times must be non-decreasing"),
        ('kind = "poisson"\nmean_interarrival_us = 50.0', 'kind = "trace"\ntrace_us = [1.0]\ntrace_apps = ["sonar"]', r"mix\.toml: arrivals\.trace_apps\[0\]: application 'sonar' is not in the mix"),
        ('name = "mix"', 'name = "mix"\nmax_jobs_in_system = 0', r"mix\.toml: max_jobs_in_system: expected an integer in \[1, 1e8\] jobs, got 0"),
        ('name = "mix"', 'name = "mix"\ndrop_when_ful = true', r"mix\.toml: drop_when_ful: unknown key; did you mean 'drop_when_full'\?"),
    ],
)
def test_malformed_workload(tmp_path, old, new, message):
    assert old in MIX
    path = tmp_path / "mix.toml"
    path.write_text(MIX.replace(old, new, 1))
    with pytest.raises(SocEmuError, match=message):
        load_workload(str(path))


def test_rate_is_converted_to_mean_gap(tmp_path):
    path = tmp_path / "mix.toml"
    path.write_text(MIX.replace("mean_interarrival_us = 50.0", "rate_jobs_per_ms = 8.0"))
    w = load_workload(str(path))
    assert w.arrivals.mean_interarrival_us == pytest.approx(125.0)
    assert w.arrivals.rate_jobs_per_ms == pytest.approx(8.0)


def test_file_of_the_wrong_kind(tmp_path):
    with pytest.raises(SocEmuError, match=r"tiny_mix\.toml: expected a platform, but this is a workload file"):
        load_platform(str(FIXTURES / "tiny_mix.toml"))
    with pytest.raises(SocEmuError, match=r"tiny_platform\.toml: expected a workload or application, but this is a platform"):
        load_workload(str(FIXTURES / "tiny_platform.toml"))
    other = tmp_path / "other.toml"
    other.write_text('title = "x"\n')
    with pytest.raises(SocEmuError, match=r"other\.toml: not a platform file"):
        load_platform(str(other))


def test_explicit_kind_key(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('kind = "platform"\nname = "x"\n')
    with pytest.raises(SocEmuError, match=r"x\.toml: interconnect: missing required field"):
        load_platform(str(path))
    path.write_text('kind = "mix"\n' + APP)
    with pytest.raises(SocEmuError, match=r'x\.toml: kind: expected "application" here, got "mix"'):
        load_workload(str(path))
