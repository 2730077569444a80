"""The study runner on the local backend: identical rows for any worker count, resume, failed runs,
killed workers, interrupted processes, and output folders of another study."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from soc_emu.cli import main
from soc_emu.errors import SocEmuError
from soc_emu.study import deterministic, expand, parse_spec, run_study
from soc_emu.study.backends.local import LocalBackend
from soc_emu.study.table import ResultsTable
from soc_emu.study.worker import COLUMNS, run_one


def _deterministic_rows(rows: list[dict]) -> list[dict]:
    return [deterministic(r) for r in rows]


def test_one_and_two_local_workers_give_identical_rows(spec_data: Callable[..., dict], tmp_path: Path) -> None:
    spec = parse_spec(spec_data())
    one = run_study(spec, out_dir=tmp_path / "one", workers=1)
    two = run_study(spec, out_dir=tmp_path / "two", workers=2)
    assert len(one.rows) == 12 and not one.failed
    assert _deterministic_rows(one.rows) == _deterministic_rows(two.rows)
    assert len({r["mean_latency_us"] for r in one.rows}) == 12  # seeds, rates and schedulers all differ
    assert all(r["jobs_completed"] == 20 for r in one.rows)
    assert {r["worker"] for r in two.rows} != {r["worker"] for r in one.rows}
    # The finished table is written in run order, whichever worker finished first.
    lines_one = (tmp_path / "one" / "runs.csv").read_text().splitlines()
    lines_two = (tmp_path / "two" / "runs.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines_one] == [line.split(",")[0] for line in lines_two]


def test_resume_skips_finished_runs_and_tolerates_a_cut_line(spec_data: Callable[..., dict], tmp_path: Path) -> None:
    spec = parse_spec(spec_data())
    full = run_study(spec, out_dir=tmp_path / "full", workers=1)
    part = tmp_path / "part"
    runs = expand(spec)
    # A folder where 5 runs finished and a sixth row was cut short by a killed process.
    first = run_study(spec, out_dir=part, workers=1)
    table = part / "runs.csv"
    lines = table.read_text().splitlines(keepends=True)
    table.write_text("".join(lines[:6]) + lines[6][:40])
    resumed = run_study(spec, out_dir=part, workers=2)
    assert resumed.resumed == 5 and resumed.executed == 7
    assert _deterministic_rows(resumed.rows) == _deterministic_rows(full.rows) == _deterministic_rows(first.rows)
    keys = [row["key"] for row in csv.DictReader(open(table))]
    assert keys == [r.key for r in runs]  # every run once, in run order


def test_a_folder_of_another_study_is_refused(spec_data: Callable[..., dict], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    run_study(parse_spec(spec_data(seeds=[0], rates=[20])), out_dir=out, workers=1)
    with pytest.raises(SocEmuError, match="holds the results of a different study") as info:
        run_study(parse_spec(spec_data(seeds=[0], rates=[30])), out_dir=out, workers=1)
    assert info.value.source == f"--out {out}"
    code = main(["study", "run", "--schedulers", "etf", "--rates", "30", "--seeds", "0", "--jobs", "20",
                 "--out", str(out), "--no-plot"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("soc-emu: error: --out") and err.count("\n") == 1
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "runs.csv").write_text("key\n")
    with pytest.raises(SocEmuError, match="without study.json"):
        run_study(parse_spec(spec_data(seeds=[0])), out_dir=stray, workers=1)


def test_a_failing_run_is_recorded_and_the_study_goes_on(spec_data: Callable[..., dict], tmp_path: Path) -> None:
    # Dropping arrivals needs an admission cap: the drop=true runs fail inside the run, the others finish.
    spec = parse_spec(spec_data(seeds=[0], rates=[20], drop=[True, False]))
    result = run_study(spec, out_dir=tmp_path / "out", workers=2)
    failed = result.failed
    assert len(result.rows) == 4 and len(failed) == 2 and all(r["drop"] is True for r in failed)
    assert all("dropping jobs needs a cap" in r["error"] and r["mean_latency_us"] is None for r in failed)
    assert all(r["jobs_completed"] == 20 for r in result.rows if r["drop"] is False)
    again = run_study(spec, out_dir=tmp_path / "out", workers=2)  # failed runs count as done
    assert again.executed == 0


def test_an_interrupted_run_stops_the_study_instead_of_counting_as_failed(spec_data: Callable[..., dict]) -> None:
    """Ctrl-C inside a run (in-process, as with one worker) must reach the study runner, so the run is
    redone on resume; recording it as a failed run would keep it out of the resumed table for good."""
    import threading

    (run,) = expand(parse_spec(spec_data(seeds=[0], rates=[20], schedulers=["etf"], jobs=2_000_000)))
    # Python's own Ctrl-C handler, as in an interactive run: a test runner started in the background of a
    # non-interactive shell inherits SIGINT ignored, and the signal would then never arrive
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_one(run)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)


def test_a_killed_worker_is_replaced_and_its_runs_redone(spec_data: Callable[..., dict], tmp_path: Path) -> None:
    runs = expand(parse_spec(spec_data()))
    expected = {r.key: deterministic(run_one(r)) for r in runs}
    backend = LocalBackend(2, chunk_size=1)
    got: dict[str, dict] = {}
    killed: list[int] = []

    def on_rows(rows: list[dict]) -> None:
        for row in rows:
            got.setdefault(row["key"], deterministic(row))
        if not killed:
            pid = backend.worker_pids()[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    backend.run(runs, on_rows)
    assert killed and got == expected


@pytest.mark.parametrize(("sig", "workers"), [(signal.SIGINT, 2), (signal.SIGTERM, 1)])
def test_an_interrupted_study_resumes_to_the_uninterrupted_table(spec_data: Callable[..., dict], tmp_path: Path,
                                                                 sig: int, workers: int) -> None:
    data = spec_data(seeds=list(range(6)), rates=[20, 40, 60, 80], jobs=60)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "soc_emu", "study", "run", "--schedulers", "etf,heft", "--rates", "20,40,60,80",
            "--seeds", ",".join(map(str, range(6))), "--noise", "0.2", "--jobs", "60", "--name", "small",
            "--workers", str(workers), "--out", str(out), "--no-plot"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    table = out / "runs.csv"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if table.exists() and table.read_text().count("\n") >= 3:
            break
        time.sleep(0.02)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    name = "SIGINT" if sig == signal.SIGINT else "SIGTERM"
    assert err.strip().splitlines()[-1].startswith(f"soc-emu: interrupted by {name}: ")
    assert err.strip().endswith("run the same command again to resume")
    saved = list(csv.DictReader(open(table)))
    assert 0 < len(saved) < 48
    resumed = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(saved)} resumed" in resumed.stdout
    final = list(csv.DictReader(open(table)))
    assert len(final) == 48 and len({r["key"] for r in final}) == 48
    reference = run_study(parse_spec(data), out_dir=tmp_path / "ref", workers=1)
    ref_rows = list(csv.DictReader(open(reference.paths["runs"])))
    deterministic_columns = [c for c in COLUMNS if c not in ("wall_seconds", "run_seconds", "host", "worker")]
    assert [[r[c] for c in deterministic_columns] for r in final] == \
           [[r[c] for c in deterministic_columns] for r in ref_rows]


def test_table_keeps_each_key_once(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    with ResultsTable(path, ("key", "x")) as table:
        table.append({"key": "a", "x": 1.5})
        table.append({"key": "a", "x": 2.5})
    with open(path, "a") as f:
        f.write("a,3.5\nb,true\n")  # a duplicate written by an earlier crash
    with ResultsTable(path, ("key", "x")) as table:
        assert table.rows == {"a": {"key": "a", "x": "1.5"}, "b": {"key": "b", "x": "true"}}
    assert path.read_text() == "key,x\na,1.5\nb,true\n"


def test_pool_workers_import_torch_only_for_a_learned_scheduler() -> None:
    from concurrent.futures import ProcessPoolExecutor

    from soc_emu.study.backends.local import _context, _worker_init
    from soc_emu.study.worker import run_chunk

    heuristic = expand(parse_spec({"schedulers": ["heft", "etf"], "jobs": 5}))
    learned = expand(parse_spec({"schedulers": ["deepsocs"], "jobs": 5}))
    modules = "sorted(__import__('sys').modules)"
    with ProcessPoolExecutor(1, mp_context=_context(), initializer=_worker_init) as pool:
        assert all(r["error"] is None for r in pool.submit(run_chunk, heuristic).result())
        assert "torch" not in pool.submit(eval, modules).result()
        assert pool.submit(run_chunk, learned).result()[0]["jobs_completed"] == 5
        assert "torch" in pool.submit(eval, modules).result()


def test_study_run_exits_1_when_some_runs_failed(tmp_path: Path, capsys) -> None:
    # Dropping arrivals needs an admission cap: the drop=true run fails inside the run, the other finishes.
    spec = tmp_path / "spec.toml"
    spec.write_text('name = "f"\nschedulers = ["etf"]\njobs = 10\ndrop = [true, false]\n', encoding="utf-8")
    assert main(["study", "run", str(spec), "--workers", "1", "--out", str(tmp_path / "out"), "--no-plot"]) == 1
    assert "2 runs (2 executed now, 0 resumed, 1 failed)" in capsys.readouterr().out
    spec.write_text('name = "g"\nschedulers = ["etf"]\njobs = 10\n', encoding="utf-8")
    assert main(["study", "run", str(spec), "--workers", "1", "--out", str(tmp_path / "ok"), "--no-plot"]) == 0
