"""``soc-emu compare``: a quick version runs every scenario kind and writes the table, CSV and plot."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from agents.evaluation import aggregate, verdict
from soc_emu.cli import main


def test_quick_compare_writes_table_and_plot(small_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    code = main([
        "compare", "--scenarios", "noise0.3,failures,unseen,unseen_mix", "--rates", "40", "--unseen-rates", "10",
        "--seeds", "1", "--jobs", "8", "--schedulers", "random,etf,heft,deepsocs", "--model", str(small_checkpoint),
        "--failures", "2000,500", "--out", str(out),
    ])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| noise0.3 | 40 |" in printed and "| unseen | 10 |" in printed and "DeepSoCS vs HEFT" in printed
    rows = list(csv.DictReader(open(out / "compare.csv")))
    assert {(r["scenario"], r["scheduler"]) for r in rows} == {
        (s, k) for s in ("noise0.3", "failures", "unseen", "unseen_mix") for k in ("random", "etf", "heft", "deepsocs")
    }
    assert all(float(r["vs_heft"]) == 0.0 for r in rows if r["scheduler"] == "heft")
    runs = json.loads((out / "compare.json").read_text())["runs"]
    assert all(r["jobs_completed"] == 8 for r in runs)
    assert (out / "compare.png").stat().st_size > 10_000


def test_verdict_flags_loads_where_the_agent_loses() -> None:
    runs = [
        {"scenario": "noise0", "scheduler": s, "rate_jobs_per_ms": rate, "seed": 1, "mean_latency_us": lat, "p95_latency_us": lat}
        for s, rate, lat in (("heft", 10.0, 100.0), ("deepsocs", 10.0, 103.0), ("heft", 90.0, 300.0), ("deepsocs", 90.0, 240.0))
    ]
    rows = aggregate(runs)
    text = verdict(rows)
    assert "worst case: +3.0% (noise0, 10 jobs/ms)" in text
    assert "best case: -20.0% (noise0, 90 jobs/ms)" in text
    assert "no (noise0@10: +3.0%)" in text


def test_unknown_scenario_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "--scenarios", "foo", "--out", str(tmp_path)]) == 2
    assert "unknown scenario" in capsys.readouterr().err
