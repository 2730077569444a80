"""Timings files: kernel times a platform's PE group pulls in from another file (the hw -> emulator link)."""

from __future__ import annotations

from pathlib import Path

import pytest

from soc_emu.errors import SocEmuError
from soc_emu.formats import load_platform

PLATFORM = """
name = "p"
[interconnect]
bandwidth = 100.0
[[pe_group]]
name = "cpu"
type = "cpu"
[pe_group.exec_times_us]
a = 1.0
[[pe_group]]
name = "fpga"
type = "fpga"
{extra}
exec_times_files = ["../timings/t.toml"]
"""

TIMINGS = """
kind = "timings"
name = "t"
clock_mhz = 250.0
[exec_times_us]
dnn_mlp = {value}
[cycles]
dnn_mlp = 33375
"""


def write(tmp_path: Path, *, value: str = "133.5", extra: str = "") -> Path:
    (tmp_path / "timings").mkdir()
    (tmp_path / "plat").mkdir()
    (tmp_path / "timings" / "t.toml").write_text(TIMINGS.format(value=value))
    path = tmp_path / "plat" / "p.toml"
    path.write_text(PLATFORM.format(extra=extra))
    return path


def test_group_takes_kernel_times_from_timings_file(tmp_path: Path) -> None:
    platform = load_platform(str(write(tmp_path)))
    fpga = platform.pe_by_name("fpga_0")
    assert dict(fpga.exec_times_us) == {"dnn_mlp": 133.5}
    assert dict(platform.pe_by_name("cpu_0").exec_times_us) == {"a": 1.0}


def test_bad_value_in_timings_file_names_that_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(SocEmuError, match=r"timings/t\.toml: exec_times_us\.dnn_mlp: expected a number"):
        load_platform(str(write(tmp_path, value='"x"')))


def test_missing_timings_file_is_named(tmp_path: Path) -> None:
    path = write(tmp_path)
    (tmp_path / "timings" / "t.toml").unlink()
    with pytest.raises(SocEmuError, match=r"timings/t\.toml: no such file"):
        load_platform(str(path))


def test_kernel_given_twice_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, extra="[pe_group.exec_times_us]\ndnn_mlp = 3.0")
    # TOML puts exec_times_files inside the sub-table when it follows it, so write it first instead
    text = path.read_text().replace('[pe_group.exec_times_us]\ndnn_mlp = 3.0\nexec_times_files = ["../timings/t.toml"]',
                                    'exec_times_files = ["../timings/t.toml"]\n[pe_group.exec_times_us]\ndnn_mlp = 3.0')
    path.write_text(text)
    with pytest.raises(SocEmuError, match=r"pe_group\[1\]\.exec_times_us\.dnn_mlp: also given by an exec_times_files"):
        load_platform(str(path))
