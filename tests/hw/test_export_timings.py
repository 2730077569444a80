"""The co-design link: measured accelerator cycles exported as the emulator's FPGA timings."""

from __future__ import annotations

import json
import tomllib
from importlib import resources

import pytest

from hw.errors import HwError
from hw.export import timings_toml
from soc_emu.formats import load_platform
from soc_emu.formats.toml_files import timings_from_toml

RECORD = {"kernel": "mlp", "variant": "intar", "mapping": "[fc1+fc2+fc3 @16]", "lanes": 16, "cores": 1,
          "cycles": 33423, "bit_exact": True}


IMPLEMENTED = "data/timings/intar_fpga_implemented.json"


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


def test_implemented_clocks_are_per_kernel_and_recorded() -> None:
    ffn = {**RECORD, "kernel": "ffn", "cycles": 18830}
    text = timings_toml([RECORD, ffn], clock_mhz=90.0, implemented={"mlp": 104.2}, name="t", command="c")
    data = tomllib.loads(text)
    assert data["clocks_mhz"] == {"dnn_mlp": 104.2, "dnn_ffn": 90.0}
    assert data["clock_sources"] == {"dnn_mlp": "implemented", "dnn_ffn": "named"}
    assert timings_from_toml(data, "t.toml") == {"dnn_mlp": round(33423 / 104.2, 3), "dnn_ffn": 209.222}
    with pytest.raises(HwError, match="no implemented Fmax for ffn"):
        timings_toml([ffn], implemented={"mlp": 104.2}, name="t", command="c")


def test_shipped_timings_use_the_stored_implemented_clocks() -> None:
    data = shipped()
    stored = json.loads(resources.files("soc_emu").joinpath(IMPLEMENTED).read_text())
    fmax = {f"dnn_{r['kernel']}": r["fmax_mhz"] for r in stored["designs"] if r["variant"] == "intar"}
    assert fmax and data["clock_sources"]["dnn_mlp"] == "implemented"
    for kernel, source in data["clock_sources"].items():
        assert (source == "implemented") == (kernel in fmax)
        if kernel in fmax:
            assert data["clocks_mhz"][kernel] == fmax[kernel]
    for kernel, us in data["exec_times_us"].items():
        assert us == round(data["cycles"][kernel] / data["clocks_mhz"][kernel], 3)


@pytest.mark.hw
def test_shipped_timings_are_what_the_generated_hardware_measures(tmp_path) -> None:
    from soc_emu.cli import main

    out = tmp_path / "t.toml"
    stored = str(resources.files("soc_emu").joinpath(IMPLEMENTED))
    # fresh Verilator cycles; the Fmax from the stored place-and-route results of the very same RTL
    assert main(["hw", "export-timings", "--kernel", "mlp", "--implementation", stored, "--out", str(out)]) == 0
    assert tomllib.loads(out.read_text())["clock_sources"] == {"dnn_mlp": "implemented"}
    fresh = tomllib.loads(out.read_text())
    assert fresh["exec_times_us"]["dnn_mlp"] == shipped()["exec_times_us"]["dnn_mlp"]
    assert fresh["cycles"]["dnn_mlp"] == shipped()["cycles"]["dnn_mlp"]
    assert fresh["clocks_mhz"]["dnn_mlp"] == shipped()["clocks_mhz"]["dnn_mlp"]
