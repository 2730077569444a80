"""The co-design link: measured accelerator cycles exported as the emulator's FPGA timings."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from hw.errors import HwError
from hw.export import timings_toml
from soc_emu.formats import load_platform
from soc_emu.formats.toml_files import timings_from_toml

RECORD = {"kernel": "mlp", "variant": "intar", "mapping": "[fc1+fc2+fc3 @16]", "lanes": 16, "cores": 1,
          "cycles": 33423, "bit_exact": True}


def shipped() -> dict:
    text = resources.files("soc_emu").joinpath("data/timings/intar_fpga.toml").read_text()
    return tomllib.loads(text)


def test_cycles_become_microseconds_at_the_named_clock() -> None:
    text = timings_toml([RECORD], clock_mhz=200.0, name="t", command="soc-emu hw export-timings")
    data = tomllib.loads(text)
    assert timings_from_toml(data, "t.toml") == {"dnn_mlp": 167.115}
    assert data["cycles"] == {"dnn_mlp": 33423} and data["clock_mhz"] == 200.0


def test_wrong_designs_and_bad_clocks_are_refused() -> None:
    with pytest.raises(HwError, match="not bit-exact"):
        timings_toml([{**RECORD, "bit_exact": False}], clock_mhz=250.0, name="t", command="c")
    with pytest.raises(HwError, match="--clock-mhz: must be > 0"):
        timings_toml([RECORD], clock_mhz=0.0, name="t", command="c")
    with pytest.raises(HwError, match="appears twice"):
        timings_toml([RECORD, RECORD], clock_mhz=250.0, name="t", command="c")


def test_platforms_read_the_shipped_timings() -> None:
    times = shipped()["exec_times_us"]
    for name in ("hetero", "fpga_soc"):
        fpga = load_platform(name).pe_by_name("fpga_0")
        for kernel, us in times.items():
            assert fpga.exec_times_us[kernel] == us


@pytest.mark.hw
def test_shipped_timings_are_what_the_generated_hardware_measures(tmp_path) -> None:
    from soc_emu.cli import main

    out = tmp_path / "t.toml"
    assert main(["hw", "export-timings", "--out", str(out)]) == 0
    fresh = tomllib.loads(out.read_text())
    assert fresh["exec_times_us"] == shipped()["exec_times_us"]
    assert fresh["cycles"] == shipped()["cycles"]
