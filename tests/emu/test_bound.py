"""`soc-emu bound`: heuristics graded against the CP-SAT optimum on DAG suites (study-runner preset)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from soc_emu.cli import main
from soc_emu.formats import load_workload
from soc_emu.formats.dag_files import write_graphml, write_node_link
from soc_emu.optimal.gaps import grade, summarize_gaps
from soc_emu.optimal.suites import random_suite

FIXTURES = Path(__file__).parent / "fixtures"


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_random_suite_is_reproducible_and_shares_instances_across_ccrs() -> None:
    suite = random_suite(instances=3, tasks=(10, 30), ccrs=(0.1, 5.0), seed=4)
    assert suite == random_suite(instances=3, tasks=(10, 30), ccrs=(0.1, 5.0), seed=4)
    assert len(suite) == 6 and all(s.startswith("random:") for s in suite)
    assert [s.replace("ccr=0.1", "") for s in suite[:3]] == [s.replace("ccr=5", "") for s in suite[3:]]


def test_bound_on_a_folder_of_dag_files(tmp_path: Path, capsys) -> None:
    """The PEFT paper's graph (HEFT 133, PEFT 122, optimum 113) as GraphML and as node-link JSON."""
    graph = load_workload(str(FIXTURES / "peft_app.toml")).mix.graphs[0]
    dags = tmp_path / "dags"
    dags.mkdir()
    write_graphml(graph, str(dags / "peft.graphml"))
    write_node_link(graph, str(dags / "peft.json"))
    out = tmp_path / "out"
    status = main(["bound", "--dags", str(dags), "--platform", str(FIXTURES / "peft_platform.toml"),
                   "--schedulers", "heft,peft", "--workers", "1", "--time-limit", "5", "--out", str(out)])
    assert status == 0
    rows = read_csv(out / "bound.csv")
    got = {(Path(r["instance"]).name, r["scheduler"]): r for r in rows}
    for name in ("peft.graphml", "peft.json"):
        heft, peft = got[(name, "heft")], got[(name, "peft")]
        assert float(heft["makespan_us"]) == 133.0 and float(peft["makespan_us"]) == 122.0
        assert float(heft["best_us"]) == float(heft["bound_us"]) == 113.0 and heft["proven_optimal"] == "True"
        assert float(heft["gap"]) == pytest.approx(133 / 113 - 1) and float(peft["gap"]) == pytest.approx(122 / 113 - 1)
    assert (out / "bound.png").stat().st_size > 0 and (out / "summary.csv").exists()
    table = capsys.readouterr().out
    assert "17.7%" in table and "8.0%" in table  # HEFT 133/113, PEFT 122/113


def test_bound_on_random_dags_never_finds_a_heuristic_below_the_optimum(tmp_path: Path, capsys) -> None:
    status = main(["bound", "--instances", "2", "--tasks", "8-10", "--ccr", "0.5,5", "--workers", "1",
                   "--time-limit", "5", "--csv", str(tmp_path / "b.csv")])
    assert status == 0
    rows = read_csv(tmp_path / "b.csv")
    assert len(rows) == 2 * 2 * 4  # instances x CCRs x (heft, peft, etf, met)
    for row in rows:
        assert row["proven_optimal"] == "True"
        assert float(row["makespan_us"]) >= float(row["best_us"]) - 1e-6
        assert float(row["gap"]) >= -1e-9
    assert {r["ccr"] for r in rows} == {"0.5", "5.0"}


def test_summary_groups_by_scheduler_and_ccr() -> None:
    rows = [
        {"scheduler": "heft", "ccr": 1.0, "gap": 0.1, "proven_optimal": True, "solve_seconds": 0.5,
         "solve_deterministic_s": 0.1},
        {"scheduler": "heft", "ccr": 5.0, "gap": 0.3, "proven_optimal": False, "solve_seconds": 1.5,
         "solve_deterministic_s": 10.0},
        {"scheduler": "met", "ccr": 1.0, "gap": 0.0, "proven_optimal": True, "solve_seconds": 0.5,
         "solve_deterministic_s": 0.1},
    ]
    summary = {(s["scheduler"], s["ccr"]): s for s in summarize_gaps(rows)}
    assert summary[("heft", "all")]["mean_gap"] == pytest.approx(0.2)
    assert summary[("heft", "all")]["share_proven"] == 0.5
    assert summary[("met", 1.0)]["share_at_best"] == 1.0
    assert grade([]) == []


@pytest.mark.parametrize(
    ("args", "source"),
    [(["--tasks", "9-3"], "--tasks"), (["--instances", "0"], "--instances"), (["--time-limit", "0"], "--time-limit"),
     (["--dags", "/nonexistent"], "--dags /nonexistent"), (["--ccr", "x"], "--ccr")],
)
def test_bad_flags_are_one_line_errors(args: list[str], source: str, capsys) -> None:
    assert main(["bound", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"soc-emu: error: {source}") and err.count("\n") == 1
