"""Regression tests of issue 13: every hostile input the fuzzing found is one line + exit status 2, fast.

Each case is a real command (``main([...])``) on a real file; the assertions check the line names the
file, field or flag and the allowed range, and that no output was written by a refused run.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from soc_emu.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
TINY_PLATFORM = (FIXTURES / "tiny_platform.toml").read_text()
TINY_APP = (FIXTURES / "tiny_app.toml").read_text()


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run ``soc-emu argv``; assert it was refused with one line and status 2 within seconds; the line."""
    t0 = time.monotonic()
    rc = main(list(argv))
    elapsed = time.monotonic() - t0
    out, err = capsys.readouterr()
    assert rc == 2, (rc, out, err)
    assert out == "" and err.startswith("soc-emu: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert elapsed < 10, f"refusing took {elapsed:.1f} s"
    return err


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


# -- numbers checked for range ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("capacity = 2", "capacity = " + "1" + "0" * 30, "capacity: expected an integer in [1, 256] slots, got 1000"),
        ("capacity = 2", "capacity = 100000000", "capacity: expected an integer in [1, 256] slots"),
        ('type = "gpu"', 'type = "gpu"\ncount = 100000', "count: expected an integer in [1, 1024] PEs"),
        ("beta = 2", "beta = 1e308", "exec_times_us.beta: expected a number in [0, 1e12] us"),
        ("idle_power_w = 0.1", "idle_power_w = 1e308", "idle_power_w: expected a number in [0, 10000] W"),
        ("bandwidth = 10.0", "bandwidth = 5e-324", "bandwidth: expected a number in [1e-6, 1e12]"),
        ("latency_us = 2.0", "latency_us = nan", "latency_us: expected a number in [0, 1e12] us"),
    ],
)
def test_platform_numbers_out_of_range(tmp_path, capsys, old: str, new: str, needle: str) -> None:
    assert old in TINY_PLATFORM
    platform = write(tmp_path / "p.toml", TINY_PLATFORM.replace(old, new, 1))
    err = refused(capsys, "run", "--platform", platform, "--workload", str(FIXTURES / "tiny_app.toml"), "--jobs", "2")
    assert "p.toml: pe_group" in err or "p.toml: interconnect" in err
    assert needle in err


def test_group_counts_add_up_to_at_most_1024_pes(tmp_path, capsys) -> None:
    text = TINY_PLATFORM.replace('type = "gpu"', 'type = "gpu"\ncount = 1000').replace(
        'type = "cpu_big"', 'type = "cpu_big"\ncount = 100')
    err = refused(capsys, "run", "--platform", write(tmp_path / "p.toml", text), "--jobs", "2")
    assert "would have 1102 PEs" in err


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("deadline_us = 50.0", "deadline_us = " + "9" * 400, "deadline_us: expected a number in (0, 1e12] us, got 9999"),
        ("volume = 100", "volume = 1e308", "edges[0].volume: expected a number in [0, 1e12]"),
    ],
)
def test_application_numbers_out_of_range(tmp_path, capsys, old: str, new: str, needle: str) -> None:
    app = write(tmp_path / "a.toml", TINY_APP.replace(old, new, 1))
    err = refused(capsys, "run", "--platform", str(FIXTURES / "tiny_platform.toml"), "--workload", app, "--jobs", "2")
    assert "a.toml: " in err and needle in err
    assert "(400 characters)" in err or "1e+308" in err  # a 400-digit value is shortened, not echoed whole


@pytest.mark.parametrize(
    ("arrivals", "needle"),
    [
        ("rate_jobs_per_ms = 5e-324", "arrivals.rate_jobs_per_ms: expected a number in [1e-6, 1e6] jobs/ms"),
        ("mean_interarrival_us = 1e308", "arrivals.mean_interarrival_us: expected a number in [0.001, 1e9] us"),
        ('kind = "trace"\ntrace_us = [0.0, 1e308]', "arrivals.trace_us[1]: expected a number in [0, 1e12] us"),
    ],
)
def test_mix_numbers_out_of_range(tmp_path, capsys, arrivals: str, needle: str) -> None:
    write(tmp_path / "a.toml", TINY_APP)
    mix = write(tmp_path / "m.toml", f'name = "m"\napplications = [{{ app = "a.toml" }}]\n[arrivals]\n{arrivals}\n')
    err = refused(capsys, "run", "--platform", str(FIXTURES / "tiny_platform.toml"), "--workload", mix, "--jobs", "5")
    assert "m.toml: " in err and needle in err


def test_ds3_numbers_out_of_range(tmp_path, capsys) -> None:
    soc = (FIXTURES / "tiny_soc.txt").read_text()
    huge = write(tmp_path / "soc.txt", soc.replace("capacity 1", "capacity 100000", 1))
    assert huge != soc
    err = refused(capsys, "run", "--platform", huge, "--workload", str(FIXTURES / "tiny_job.txt"))
    assert "soc.txt: line" in err and "capacity: expected an integer in [1, 1024]" in err


POWER_CPU = (FIXTURES / "power_cpu.toml").read_text()


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        # Both used to hang: sampling events (or a 1e308 us DVFS stall) kept the simulated clock still.
        ("sampling_period_us = 10.0", "sampling_period_us = 1e-300", "sampling_period_us: expected a number in [1, 1e9] us"),
        ("idle_w = 0.05", "idle_w = 0.05\ntransition_us = 1e308", "transition_us: expected a number in [0, 1e6] us"),
        ("opp = [[500, 800], [1000, 1000]]", "opp = [[500, 800], [1e308, 1000]]", "opp[1].MHz: expected a number in [1, 100000] MHz"),
        ("ceff_nf = 1.0", "ceff_nf = 1.0\n[power.cluster.thermal]\nresistance_c_per_w = 1.0\ncapacitance_j_per_c = 5e-324",
         "capacitance_j_per_c: expected a number in [1e-6, 1e6] J/C"),
        ("ambient_c = 25.0", "ambient_c = 1e308", "ambient_c: expected a number in [-273.15, 10000] C"),
    ],
)
def test_power_tables_out_of_range(tmp_path, capsys, old: str, new: str, needle: str) -> None:
    assert old in POWER_CPU
    platform = write(tmp_path / "p.toml", POWER_CPU.replace(old, new, 1))
    err = refused(capsys, "run", "--platform", platform, "--workload", str(FIXTURES / "power_work.toml"),
                  "--governor", "ondemand")
    assert "p.toml: power" in err and needle in err, err


# -- silent wrong results -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--failures", "1000,100", "--failure-types", "bogus"], "--failure-types: no PE of type 'bogus'"),
        (["--workload", "wifi_tx:1e308,radar:1e308"], "weight must be a number in [0, 1e6]"),
        (["--platform", ""], "--platform: expected a platform name or file, got an empty string"),
        (["--workload", " "], "--workload"),
        (["--out", ""], "--out: expected a directory, got an empty string"),
        (["--rate", "5e-324"], "--rate: expected a number in [1e-6, 1e6] jobs/ms"),
        (["--jobs", "1" + "0" * 30], "--jobs: expected an integer in [1, 1e8] jobs, got"),
        (["--duration", "inf"], "--duration: expected a number in (0, 1e12] us"),
        (["--duration", "nan"], "--duration"),
        (["--failures", "1e400,5"], "--failures: expected a number in [1, 1e12] us"),
        (["--failures", "1e-300,5"], "--failures: expected a number in [1, 1e12] us"),
        (["--noise", "1e9"], "--noise: expected a number in [0, 10]"),
        (["--seed", "9" * 40], "--seed: expected an integer in [0, 9223372036854775807]"),
        (["--trace-limit", "lots"], "--trace-limit"),
    ],
)
def test_run_flags_out_of_range_or_unknown(capsys, argv: list[str], needle: str) -> None:
    err = refused(capsys, "run", "--jobs", "3", *argv) if "--jobs" not in argv and "--duration" not in argv \
        else refused(capsys, "run", *argv)
    assert needle in err, err


def test_known_failure_types_still_fail_pes(capsys) -> None:
    rc = main(["run", "--jobs", "50", "--failures", "300,50", "--failure-types", "cpu_big", "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert json.loads(out)["pe_failures"] > 0


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["sweep", "--rates", "1e308", "--jobs", "5"], "--rates: expected a number in [1e-6, 1e6] jobs/ms"),
        (["sweep", "--seeds", "9" * 30, "--jobs", "5"], "--seeds: expected an integer in [0, 9223372036854775807]"),
        (["compare", "--rates", "5e-324", "--jobs", "5"], "rates[0]: expected a number in [1e-6, 1e6] jobs/ms"),
        (["compare", "--seeds", "-1"], "--seeds: expected an integer in [0, 9223372036854775807], got -1"),
        (["sweep", "--workers", "100000", "--jobs", "5"], "--workers: expected an integer in [1, 256] workers"),
    ],
)
def test_study_axes_use_the_same_ranges(tmp_path, capsys, argv: list[str], needle: str) -> None:
    err = refused(capsys, *argv, "--out", str(tmp_path / "study"))
    assert needle in err, err
    assert not (tmp_path / "study" / "runs.csv").exists()


# -- paths and files -----------------------------------------------------------------------------------
def test_a_mix_that_includes_itself(tmp_path, capsys) -> None:
    mix = write(tmp_path / "loop.toml", 'name = "loop"\napplications = [{ app = "loop.toml" }]\n')
    err = refused(capsys, "run", "--workload", mix, "--jobs", "2")
    assert "loop.toml" in err and "a mix cannot include a mix" in err


def test_special_files_are_not_read(tmp_path, capsys) -> None:
    fifo = tmp_path / "plat.toml"
    os.mkfifo(fifo)  # opening it would block forever
    for spec in (str(fifo), "/dev/zero"):
        err = refused(capsys, "run", "--platform", spec, "--jobs", "2")
        assert spec in err and "not a regular file" in err
    included = TINY_PLATFORM.replace("[pe_group.exec_times_us]\nbeta = 2", 'exec_times_files = ["/dev/zero"]')
    err = refused(capsys, "run", "--platform", write(tmp_path / "p.toml", included), "--jobs", "2")
    assert "/dev/zero: not a regular file" in err


def test_oversized_input_files_are_refused(tmp_path, capsys) -> None:
    big = tmp_path / "big.toml"
    big.write_text(TINY_PLATFORM + "#" * (17 * 2**20) + "\n")
    err = refused(capsys, "run", "--platform", str(big), "--jobs", "2")
    assert "input files may have at most 16777216 bytes" in err


@pytest.mark.parametrize("where", ["/proc/soc-emu-harden/out", "/proc/self"])
def test_unwritable_out_fails_before_the_run(capsys, where: str) -> None:
    err = refused(capsys, "run", "--jobs", "100000", "--trace-limit", "none", "--out", where)
    assert err.startswith(f"soc-emu: error: --out: cannot ")


def test_an_output_file_that_is_a_directory_fails_before_the_run(tmp_path, capsys) -> None:
    (tmp_path / "metrics.json").mkdir()
    err = refused(capsys, "run", "--jobs", "100000", "--trace-limit", "none", "--out", str(tmp_path))
    assert "metrics.json exists and is not a regular file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]  # nothing else was written


def test_out_naming_an_existing_file(tmp_path, capsys) -> None:
    target = tmp_path / "results"
    target.write_text("keep me")
    err = refused(capsys, "run", "--jobs", "5", "--out", str(target))
    assert "exists and is not a directory" in err and target.read_text() == "keep me"


# -- trace-size guard -------------------------------------------------------------------------------------
def test_huge_traces_are_refused_up_front_with_a_hint(tmp_path, capsys) -> None:
    err = refused(capsys, "run", "--jobs", "1000000", "--out", str(tmp_path / "big"))
    assert "the traces would take about 6.2 GB (1,000,000 jobs x 17.2 tasks)" in err and "--trace-limit" in err
    assert not (tmp_path / "big").exists()
    err = refused(capsys, "run", "--jobs", "100", "--trace-limit", "100K", "--out", str(tmp_path / "small"))
    assert "more than the limit" in err


def test_a_raised_trace_limit_lets_the_run_write(tmp_path, capsys) -> None:
    rc = main(["run", "--jobs", "100", "--trace-limit", "2M", "--out", str(tmp_path / "ok"), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    size = sum((tmp_path / "ok" / n).stat().st_size for n in ("trace.csv", "trace.json"))
    doc = json.loads(out)
    # The estimate (360 bytes per task) is within 25 % of what was written.
    assert size == pytest.approx(360 * doc["tasks_completed"], rel=0.25)
    assert json.loads((tmp_path / "ok" / "config.json").read_text())["run_status"]["state"] == "complete"


# -- honest time-bounded runs -------------------------------------------------------------------------------
def test_an_overloaded_duration_run_reports_its_unfinished_jobs(capsys) -> None:
    rc = main(["run", "--platform", "ds3", "--scheduler", "met", "--rate", "50", "--duration", "5000", "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    m = json.loads(out)
    assert m["jobs_completed"] + m["jobs_dropped"] + m["jobs_unfinished"] == m["jobs_arrived"]
    assert m["jobs_unfinished"] > m["jobs_completed"]  # overloaded: most jobs never finished
    assert m["jobs_in_system_at_end"] + m["jobs_waiting_at_end"] == m["jobs_unfinished"]
    ages = m["unfinished_age_us"]
    assert 0 < ages["mean"] <= ages["max"] <= 5000
    assert m["latency_covers"] == (f"completed jobs: {m['jobs_completed']} of {m['jobs_arrived']} arrived "
                                   f"(0 dropped, {m['jobs_unfinished']} unfinished at the end)")
    rc = main(["run", "--platform", "ds3", "--scheduler", "met", "--rate", "50", "--duration", "5000"])
    text = capsys.readouterr().out
    assert f"unfinished at the end      {m['jobs_unfinished']:,}" in text and "latency covers" in text


def test_a_run_that_drains_has_nothing_unfinished(capsys) -> None:
    rc = main(["run", "--jobs", "40", "--json"])
    m = json.loads(capsys.readouterr().out)
    assert rc == 0 and m["jobs_unfinished"] == 0 and m["jobs_arrived"] == 40
    assert m["latency_covers"] == "completed jobs: 40 of 40 arrived"
    assert m["unfinished_age_us"] == {"mean": None, "p50": None, "max": None}


# -- hardware arguments ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["generate", "--kernel", "mlp", "--variant", "intar", "--latency", "100000"], "--latency: expected an integer in [1, 1024]"),
        (["generate", "--kernel", "mlp", "--variant", "intar", "--latency", "1e12"], "--latency"),
        (["generate", "--kernel", "mlp", "--variant", "intar", "--size", "tokens=100000"], "--size tokens"),
        (["report", "--size", "bogus.tokens=3"], "--size: unknown kernel 'bogus'"),
        (["report", "--kernel", "mlp", "--size", "cnn.height=3"], "--size: sizes given for kernel(s) cnn"),
        (["report", "--seeds", "0"], "--seeds: expected an integer in [1, 64]"),
        (["export-timings", "--out", "/nonexistent/x"], "--out: directory /nonexistent does not exist"),
        (["export-timings", "--clock-mhz", "inf", "--out", "t.toml"], "--clock-mhz"),
    ],
)
def test_hw_arguments_are_range_checked_before_any_work(capsys, argv: list[str], needle: str) -> None:
    err = refused(capsys, "hw", *argv)
    assert needle in err, err
