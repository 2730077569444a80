"""The Ray backend: same rows as the local backend, and an unreachable cluster is one error line, fast."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from soc_emu.cli import main
from soc_emu.study import deterministic, parse_spec, run_study
from soc_emu.study.backends import make_backend


def test_local_and_ray_backends_give_identical_rows(spec_data: Callable[..., dict], tmp_path: Path,
                                                    ray_session: Any) -> None:
    spec = parse_spec(spec_data())
    one = run_study(spec, out_dir=tmp_path / "one", workers=1)
    two = run_study(spec, out_dir=tmp_path / "two", workers=2)
    on_ray = run_study(spec, out_dir=tmp_path / "ray", backend=make_backend("ray", workers=2))
    assert ray_session.is_initialized()  # the backend used the session's Ray and left it running
    rows = [[deterministic(r) for r in result.rows] for result in (one, two, on_ray)]
    assert rows[0] == rows[1] == rows[2] and len(rows[0]) == 12
    assert (tmp_path / "one" / "runs.csv").read_text().count("\n") == 13
    assert {r["worker"] for r in on_ray.rows}.isdisjoint({r["worker"] for r in one.rows})


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is


@pytest.mark.parametrize("address", ["127.0.0.1:{port}", "127.0.0.1"])
def test_an_unreachable_ray_address_is_one_error_line_within_30_s(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                  address: str) -> None:
    address = address.format(port=_closed_port())
    t0 = time.monotonic()
    code = main(["study", "run", "--schedulers", "etf", "--jobs", "5", "--backend", "ray", "--address", address,
                 "--out", str(tmp_path / "out"), "--no-plot"])
    elapsed = time.monotonic() - t0
    err = capsys.readouterr().err
    assert code == 2 and elapsed < 30
    assert err.count("\n") == 1 and err.startswith(f"soc-emu: error: --address {address}: ")
    assert not (tmp_path / "out" / "runs.csv").exists() or (tmp_path / "out" / "runs.csv").read_text().count("\n") <= 1


def test_address_needs_the_ray_backend(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["study", "run", "--address", "127.0.0.1:1", "--out", str(tmp_path)]) == 2
    assert "soc-emu: error: --address: only the ray backend joins a cluster" in capsys.readouterr().err


def test_the_command_fails_fast_on_a_closed_port_without_a_running_ray(tmp_path: Path) -> None:
    import subprocess
    import sys

    address = f"127.0.0.1:{_closed_port()}"
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "soc_emu", "study", "run", "--backend", "ray", "--address", address,
                           "--jobs", "5", "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=60)
    assert time.monotonic() - t0 < 30
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"soc-emu: error: --address {address}: no Ray cluster reachable there")
    assert proc.stderr.count("\n") == 1
