"""Ctrl-C and SIGTERM on a real ``soc-emu run`` process: one line, status 130/143, valid partial outputs.

The process is started in its own session (``start_new_session=True``): a child of a non-interactive
shell may inherit SIGINT as ignored, and then the test would prove nothing.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from soc_emu.output.csv_trace import CSV_COLUMNS

REPO = Path(__file__).resolve().parents[2]


def start_long_run(*extra: str) -> subprocess.Popen[str]:
    """A run of two million jobs (minutes), started in its own session."""
    cmd = [sys.executable, "-m", "soc_emu", "run", "--jobs", "2000000", "--trace-limit", "none", *extra]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def interrupt(proc: subprocess.Popen[str], sig: signal.Signals, ready: Path | None) -> tuple[str, str, float]:
    """Wait until the simulation runs (the config file exists, then a moment), send ``sig``; the process's
    stdout, stderr and the seconds it took to stop."""
    deadline = time.monotonic() + 60
    while ready is not None and not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)
    assert proc.poll() is None, proc.communicate()
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:  # a hang: fail, but leave no run behind
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return out, err, time.monotonic() - sent


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_a_run_with_one_line_and_valid_partial_outputs(tmp_path, sig: signal.Signals, status: int) -> None:
    out_dir = tmp_path / "run"
    proc = start_long_run("--out", str(out_dir))
    out, err, took = interrupt(proc, sig, out_dir / "config.json")
    assert proc.returncode == status, err
    assert took < 20, f"took {took:.1f} s to stop"  # a hang detector (typically ~0.1 s), not a speed test
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"soc-emu: interrupted by {sig.name} at simulated time ")
    assert f"partial results in {out_dir}" in err

    config = json.loads((out_dir / "config.json").read_text())
    state = config["run_status"]
    assert state["state"] == "interrupted" and state["signal"] == sig.name and state["sim_time_us"] > 0
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["run_status"] == state
    assert metrics["jobs_completed"] + metrics["jobs_unfinished"] == metrics["jobs_arrived"] > 0
    assert f"simulated time {state['sim_time_us']:.1f} us" in err

    trace = json.loads((out_dir / "trace.json").read_text())  # valid JSON despite the interrupt
    assert trace["otherData"] == state
    last = trace["traceEvents"][-1]
    assert last["name"] == "run interrupted" and last["ts"] == state["sim_time_us"]
    tasks = [e for e in trace["traceEvents"] if e.get("ph") == "X"]
    assert tasks and all(e["ts"] + e["dur"] <= state["sim_time_us"] * (1 + 1e-9) for e in tasks)

    with open(out_dir / "trace.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) > 1 and all(len(r) == len(CSV_COLUMNS) for r in rows)  # whole rows only
    assert float(rows[-1][CSV_COLUMNS.index("finish_us")]) <= state["sim_time_us"]
    assert not (out_dir / "gantt.png").exists()


def test_ctrl_c_without_outputs_is_one_line_too() -> None:
    proc = start_long_run()
    out, err, _ = interrupt(proc, signal.SIGINT, None)
    assert proc.returncode == 130 and out == ""
    assert err.startswith("soc-emu: interrupted by SIGINT at simulated time ") and err.count("\n") == 1
