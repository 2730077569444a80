"""The ``soc-emu`` command: JSON output, files written, list, one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from soc_emu.cli import available_subcommands, build_parser, main
from soc_emu.errors import SocEmuError

REPO = Path(__file__).resolve().parents[2]
JSON_KEYS = {"jobs_completed", "tasks_completed", "mean_latency_us", "p95_latency_us", "makespan_us",
             "throughput_jobs_per_ms", "utilization", "mean_utilization", "wall_seconds"}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def python_m(*argv: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "soc_emu", *argv]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_run_json_is_one_object_with_the_metrics(capsys) -> None:
    rc, out, err = run_cli(capsys, "run", "--platform", "ds3", "--scheduler", "met", "--jobs", "30",
                           "--rate", "4", "--seed", "2", "--json")
    assert rc == 0, err
    doc = json.loads(out)  # the whole of stdout is one JSON document
    assert out.count("\n") == 1
    assert JSON_KEYS <= set(doc)
    assert doc["jobs_completed"] == 30 and doc["tasks_completed"] > 30
    assert set(doc["utilization"]) == {f"{p}" for p in doc["utilization"]} and len(doc["utilization"]) == 16
    assert all(0.0 <= u <= 1.0 for u in doc["utilization"].values())
    assert doc["p95_latency_us"] >= doc["p50_latency_us"] > 0
    assert (doc["platform"], doc["scheduler"], doc["seed"]) == ("ds3", "met", 2)


def test_default_run_prints_a_summary(capsys) -> None:
    rc, out, err = run_cli(capsys, "run", "--jobs", "20")
    assert rc == 0, err
    assert "scheduler  heft" in out and "platform   hetero" in out and "job latency mean" in out
    assert "jobs completed / dropped   20 / 0" in out
    assert "no files written" in out


def test_out_writes_every_file(tmp_path, capsys) -> None:
    out_dir = tmp_path / "res"
    rc, out, err = run_cli(capsys, "run", "--scheduler", "round_robin", "--jobs", "15", "--duration", "1000",
                           "--out", str(out_dir))
    assert rc == 2 and "--duration" in err  # --jobs and --duration exclude each other
    rc, out, err = run_cli(capsys, "run", "--scheduler", "round_robin", "--duration", "1500", "--noise", "0.2",
                           "--workload", "wifi_tx,radar:2", "--interarrival", "100", "--out", str(out_dir))
    assert rc == 0, err
    for name in ("trace.csv", "trace.json", "gantt.png", "config.json", "metrics.json"):
        assert (out_dir / name).stat().st_size > 0
        assert str(out_dir / name) in out
    config = json.loads((out_dir / "config.json").read_text())
    assert config["run_options"]["duration_us"] == 1500.0 and config["run_options"]["num_jobs"] is None
    assert config["workload"]["mix"] == pytest.approx({"wifi_tx": 1 / 3, "radar": 2 / 3})
    assert config["workload"]["arrivals"]["mean_interarrival_us"] == 100.0
    assert config["command_line"][:2] == ["soc-emu", "run"] and "--noise" in config["command_line"]
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["sim_span_us"] == pytest.approx(1500.0)


def test_list_names_builtins_and_schedulers(capsys) -> None:
    rc, out, _ = run_cli(capsys, "list")
    assert rc == 0
    for name in ("hetero", "ds3", "ds3_mix", "wifi_tx", "heft", "met", "etf", "random", "round_robin", "deepsocs"):
        assert f"  {name} " in out
    rc, out, _ = run_cli(capsys, "list", "schedulers")
    assert rc == 0 and "platforms:" not in out and "heft" in out


def test_subcommand_modules_are_registered_when_present() -> None:
    assert {"run", "list", "sweep"} <= set(available_subcommands())
    _, every = build_parser()
    assert set(every) == set(available_subcommands())
    _, just_run = build_parser(only="run")  # running one command imports no other command's module
    assert set(just_run) == {"run"}


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "--rate", "0"], "--rate"),
        (["run", "--rate", "-2"], "--rate"),
        (["run", "--rate", "fast"], "--rate"),
        (["run", "--interarrival", "0"], "--interarrival"),
        (["run", "--rate", "1", "--interarrival", "5"], "--interarrival"),
        (["run", "--jobs", "0"], "--jobs"),
        (["run", "--duration", "-5"], "--duration"),
        (["run", "--noise", "-0.1"], "--noise"),
        (["run", "--seed", "-1"], "--seed"),
        (["run", "--max-jobs", "0"], "--max-jobs"),
        (["run", "--drop"], "--drop"),
        (["run", "--failures", "100"], "--failures"),
        (["run", "--failures", "0,10"], "--failures"),
        (["run", "--failure-types", "cpu"], "--failure-types"),
        (["run", "--gantt-tasks", "0"], "--gantt-tasks"),
        (["run", "--binding", "sometimes"], "--binding"),
        (["run", "--platform", "atlantis"], "atlantis"),
        (["run", "--workload", "no_such_mix"], "no_such_mix"),
        (["run", "--scheduler", "oracle"], "--scheduler"),
        (["run", "--scheduler", "met", "--scheduler-option", "nonsense=1"], "--scheduler"),
        (["run", "--scheduler-option", "no_equals_sign"], "--scheduler-option"),
        (["run", "--bogus"], "--bogus"),
        (["frobnicate"], "frobnicate"),
        (["list", "pets"], "pets"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv: list[str], needle: str) -> None:
    rc, out, err = run_cli(capsys, *argv)
    assert rc == 2
    assert out == ""
    assert err.startswith("soc-emu: error: ") and err.count("\n") == 1, err
    assert needle in err


def test_malformed_files_name_the_file(tmp_path, capsys) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text("name = 'x'\n[[pe_group]]\nname = 'a'\ncapacity = -1\n")
    rc, _, err = run_cli(capsys, "run", "--platform", str(bad))
    assert rc == 2 and "broken.toml" in err and err.count("\n") == 1
    rc, _, err = run_cli(capsys, "run", "--workload", str(tmp_path / "missing.toml"))
    assert rc == 2 and "missing.toml" in err and err.count("\n") == 1
    blocked = tmp_path / "file"
    blocked.write_text("")
    rc, _, err = run_cli(capsys, "run", "--jobs", "2", "--out", str(blocked / "sub"))
    assert rc == 2 and "--out" in err and err.count("\n") == 1


def test_python_m_reports_errors_without_traceback() -> None:
    proc = python_m("run", "--rate", "-1")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("soc-emu: error: --rate") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


def test_heft_run_imports_neither_torch_nor_amaranth() -> None:
    code = (
        "import sys\n"
        "from soc_emu.cli import main\n"
        "rc = main(['run', '--scheduler', 'heft', '--jobs', '5', '--json'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'amaranth'))\n"
        "sys.exit(rc if not heavy else 'heavy modules imported: ' + ', '.join(heavy))\n"
    )
    proc = python_m(code=code)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["jobs_completed"] == 5


def test_help_exits_0(capsys) -> None:
    rc, out, _ = run_cli(capsys, "run", "--help")
    assert rc == 0 and "--interarrival" in out and "--failures" in out


def test_sweep_tabulates_every_combination(tmp_path, capsys) -> None:
    table = tmp_path / "sweep.csv"
    rc, out, err = run_cli(capsys, "sweep", "--platform", "ds3", "--schedulers", "met,heft", "--rates", "1,3",
                           "--jobs", "12", "--csv", str(table), "--json")
    assert rc == 0, err
    runs = json.loads(out)["runs"]
    assert [(r["scheduler"], r["rate_jobs_per_ms"]) for r in runs] == [("met", 1.0), ("heft", 1.0), ("met", 3.0), ("heft", 3.0)]
    assert all(r["jobs_completed"] == 12 for r in runs)
    assert len(table.read_text().strip().splitlines()) == 1 + 4
    rc, out, err = run_cli(capsys, "sweep", "--seeds", "1,two")
    assert rc == 2 and "--seeds" in err and out == ""


def test_number_lists_of_sweep_compare_and_train_share_one_parser() -> None:
    from soc_emu.cli.arguments import number_list

    assert number_list("10, 25,", float, "--rates", positive=True) == (10.0, 25.0)
    assert number_list("0,1", int, "--seeds") == (0, 1)
    for text, positive, message in (("1,x", False, "expected comma-separated numbers"), (",", False, "needs at least one value"),
                                    ("5,0", True, "values must be > 0")):
        with pytest.raises(SocEmuError, match=f"--rates: {message}"):
            number_list(text, float, "--rates", positive=positive)
