"""``soc-emu compare`` as a study preset: every registered scheduler by default (the learned one loaded
through the registry), the table, the verdict and the study files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from soc_emu.cli import main
from soc_emu.schedulers.registry import default_comparison_names, scheduler_names
from soc_emu.study.report import comparison_table, verdict


def test_default_comparison_is_every_registered_scheduler_that_opts_in() -> None:
    names = default_comparison_names()
    assert {"random", "round_robin", "met", "etf", "heft", "deepsocs"} <= set(names)
    assert set(names) <= set(scheduler_names())


def test_quick_compare_writes_table_and_study(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    code = main([
        "compare", "--scenarios", "noise0.3,failures,unseen,unseen_mix", "--rates", "40", "--unseen-rates", "10",
        "--seeds", "1", "--jobs", "8", "--schedulers", "random,etf,heft,deepsocs", "--failures", "2000,500",
        "--workers", "2", "--out", str(out),
    ])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| noise0.3 | 40 |" in printed and "| unseen | 10 |" in printed and "deepsocs vs heft: worst" in printed
    runs = list(csv.DictReader(open(out / "runs.csv")))
    assert {(r["scenario"], r["scheduler"]) for r in runs} == {
        (s, k) for s in ("noise0.3", "failures", "unseen", "unseen_mix") for k in ("random", "etf", "heft", "deepsocs")
    }
    assert all(r["jobs_completed"] == "8" and r["error"] == "" for r in runs)
    assert {r["platform"] for r in runs if r["scenario"] == "unseen"} == {"ds3"}
    assert {r["noise"] for r in runs if r["scenario"] == "noise0.3"} == {"0.3"}
    assert json.loads((out / "study.json").read_text())["spec"]["name"] == "compare"
    assert (out / "study.png").stat().st_size > 10_000 and "| scenario |" in (out / "compare.md").read_text()


def test_verdict_flags_loads_where_a_scheduler_loses() -> None:
    summary = [
        {"scenario": "noise0", "scheduler": s, "rate_jobs_per_ms": rate, "mean_latency_us": lat, "p95_latency_us": lat}
        for s, rate, lat in (("heft", 10.0, 100.0), ("mine", 10.0, 103.0), ("heft", 90.0, 300.0), ("mine", 90.0, 240.0))
    ]
    text = verdict(summary, ["heft", "mine"], "heft")
    assert text == ("mine vs heft: worst +3.0% (noise0 @ 10 jobs/ms), best -20.0% (noise0 @ 90 jobs/ms); "
                    "never more than 2% worse: no: +3.0% (noise0 @ 10 jobs/ms)")
    table = comparison_table(summary, ["heft", "mine"], "heft").splitlines()
    assert table[2] == "| noise0 | 10 | 100.0 / 100.0 | 103.0 / 103.0 | +3.0% |"


def test_unknown_scenario_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--scenarios", "foo", "--out", str(tmp_path)]) == 2
    assert "--scenarios: unknown scenario 'foo'" in capsys.readouterr().err


def test_a_scheduler_can_opt_out_of_the_default_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    from soc_emu.schedulers import registry
    from soc_emu.schedulers.heft import HeftScheduler

    class StaticOnly(HeftScheduler):
        name = "static_only_for_test"
        in_default_comparison = False

    monkeypatch.setitem(registry._BUILTIN, StaticOnly.name, StaticOnly)
    assert StaticOnly.name in scheduler_names() and StaticOnly.name not in default_comparison_names()



def test_each_scheduler_is_judged_against_the_best_other_at_every_point() -> None:
    from soc_emu.study.report import against_best_other

    def point(scheduler: str, rate: float, latency: float) -> dict:
        return {"scenario": "s", "platform": "p", "workload": "w", "noise": 0.0, "failures": "none",
                "rate_jobs_per_ms": rate, "scheduler": scheduler, "mean_latency_us": latency}

    # rate 10: a 100, b 90, c 120; rate 20: a 100, b 200, c 110
    summary = [point("a", 10, 100.0), point("b", 10, 90.0), point("c", 10, 120.0),
               point("a", 20, 100.0), point("b", 20, 200.0), point("c", 20, 110.0)]
    lines = against_best_other(summary, ["a", "b", "c"]).splitlines()
    # a: 100/90 - 1 = +11.1% (vs b), 100/110 - 1 = -9.1% (vs c): mean +1.0%, ahead by 5% at 1 point
    assert lines[0] == ("a vs the best other scheduler: mean +1.0%, worst +11.1% (s @ 10 jobs/ms) (vs b), "
                        "best -9.1% (s @ 20 jobs/ms) (vs c); 5% or more ahead at 1 of 2 points")
    # b: 90/100 - 1 = -10%, 200/100 - 1 = +100%
    assert lines[1].startswith("b vs the best other scheduler: mean +45.0%, worst +100.0% (s @ 20 jobs/ms) (vs a)")
    assert lines[2].endswith("5% or more ahead at 0 of 2 points")
