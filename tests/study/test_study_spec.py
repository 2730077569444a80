"""Study specs: parsing, the effective spec round trip, and one error line (exit 2) per kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from soc_emu.cli import main
from soc_emu.errors import SocEmuError
from soc_emu.study import expand, load_spec, parse_spec

SPEC = """\
name = "two scenarios"
seeds = [0, 1]
jobs = 30
schedulers = ["etf", { name = "heft", label = "heft-late", options = {} }]
rates = [10, 20]

[[scenarios]]
name = "noisy"
noise = [0.1, 0.3]

[[scenarios]]
name = "unseen"
platforms = ["ds3"]
rates = ["default", 5]
failures = [{ mtbf_us = 20000, repair_us = 2000 }]
"""


def test_spec_expands_to_the_product_of_its_axes_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(SPEC)
    spec = load_spec(path)
    runs = expand(spec)
    assert len(runs) == 2 * 2 * 2 * 2 + 2 * 2 * 2  # noisy: noise x rates x seeds x schedulers; unseen
    assert [r.scheduler for r in runs[:2]] == ["etf", "heft-late"] and runs[0].seed == runs[1].seed
    unseen = [r for r in runs if r.scenario == "unseen"]
    assert {r.rate for r in unseen} == {None, 5.0} and all(r.platform == "ds3" and r.failures for r in unseen)
    assert len({r.key for r in runs}) == len(runs)
    saved = tmp_path / "study.json"
    saved.write_text(json.dumps({"spec": spec.plain()}))
    again = load_spec(saved)
    assert again == spec and again.digest() == spec.digest()
    assert [r.key for r in expand(again)] == [r.key for r in runs]


@pytest.mark.parametrize(("data", "source", "message"), [
    ({"colour": "red"}, "spec.toml: colour", "unknown key"),
    ({"scenarios": [{"name": "a", "rate": [1]}]}, "spec.toml: scenarios[0].rate", "unknown key"),
    ({"schedulers": ["heft", "hfet"]}, "spec.toml: schedulers[1]", "unknown scheduler 'hfet'"),
    ({"schedulers": [{"name": "heft", "opts": {}}]}, "spec.toml: schedulers[0]", "unknown key 'opts'"),
    ({"rates": []}, "spec.toml: rates", "the axis is empty"),
    ({"seeds": []}, "spec.toml: seeds", "the axis is empty"),
    ({"rates": [10, 0]}, "spec.toml: rates[1]", "must be > 0"),
    ({"rates": [-5]}, "spec.toml: rates[0]", "must be > 0"),
    ({"rates": [10, 20, 10]}, "spec.toml: rates[2]", "duplicate value 10.0"),
    ({"seeds": [1, 1]}, "spec.toml: seeds[1]", "duplicate value 1"),
    ({"schedulers": ["heft", "heft"]}, "spec.toml: schedulers[1]", "duplicate value 'heft'"),
    ({"binding": ["soon"]}, "spec.toml: binding[0]", "expected one of on_ready, late"),
    ({"jobs": 10, "duration_us": 5.0}, "spec.toml: duration_us", "not both"),
    ({"scenarios": [{"name": "a"}, {"name": "a"}]}, "spec.toml: scenarios[1].name", "duplicate value 'a'"),
    ({"failures": [{"mtbf_us": 10}]}, "spec.toml: failures[0]", "needs mtbf_us and repair_us"),
])
def test_each_bad_spec_names_its_field(data: dict, source: str, message: str) -> None:
    with pytest.raises(SocEmuError, match=message) as info:
        parse_spec(data, source="spec.toml")
    assert info.value.source == source


def test_unknown_platform_or_workload_fails_before_any_run(tmp_path: Path) -> None:
    with pytest.raises(SocEmuError, match="scenario 'default' platforms") as info:
        expand(parse_spec({"platforms": ["nowhere"]}, source="s.toml"))
    assert "nowhere" in str(info.value)
    with pytest.raises(SocEmuError, match="scenario 'default' workloads"):
        expand(parse_spec({"workloads": ["no_such_mix"]}, source="s.toml"))


@pytest.mark.parametrize(("text", "needle"), [
    ("rates = [1, 1]\n", "spec.toml: rates[1]: duplicate value 1.0"),
    ("rates = [0.0]\n", "spec.toml: rates[0]: must be > 0"),
    ("noise = []\n", "spec.toml: noise: the axis is empty"),
    ("schedulers = ['magic']\n", "spec.toml: schedulers[0]: unknown scheduler 'magic'"),
    ("speed = 3\n", "spec.toml: speed: unknown key"),
    ("rates = [1\n", "spec.toml: not a valid spec file"),
])
def test_cli_reports_a_bad_spec_file_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                                 needle: str) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    assert main(["study", "run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("soc-emu: error: ") and needle in err
    assert not (tmp_path / "out").exists()


def test_cli_flags_name_themselves_in_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["study", "run", "--rates", "5,5", "--out", str(tmp_path / "o")]) == 2
    assert "soc-emu: error: --rates: duplicate value 5.0" in capsys.readouterr().err
    assert main(["study", "run", "--schedulers", "heft,nope", "--out", str(tmp_path / "o")]) == 2
    assert "soc-emu: error: --schedulers: unknown scheduler 'nope'" in capsys.readouterr().err


def test_bad_scheduler_options_fail_before_any_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "spec.toml"
    path.write_text('schedulers = [{ name = "heft", options = { bogus = 1 } }]\n')
    assert main(["study", "run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{path}: scenario 'default' schedulers 'heft': scheduler 'heft' does not take these options" in err
    assert not (tmp_path / "out" / "runs.csv").exists()


def test_a_scenario_or_flag_may_trade_jobs_for_a_duration() -> None:
    spec = parse_spec({"jobs": 50, "scenarios": [{"name": "a"}, {"name": "b", "duration_us": 2000.0}]})
    assert [(sc.jobs, sc.duration_us) for sc in spec.scenarios] == [(50, None), (None, 2000.0)]
    flagged = parse_spec({"duration_us": 10.0}, overrides={"jobs": 7}, flag_of={"jobs": "--jobs"})
    assert (flagged.scenarios[0].jobs, flagged.scenarios[0].duration_us) == (7, None)
