"""Place and route with nextpnr-ecp5 out of context, and what its ``--report`` JSON says.

``--out-of-context`` implements a core as a block inside a larger design: its ports are not bound to
package pins, so a core with hundreds of ports can be placed and timed on its own. The report gives the
achieved Fmax per clock, the critical paths (cell to cell, with delays) and the utilisation per bel type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hw.errors import HwError
from hw.implement.devices import Device
from hw.implement.tools import run_tool

#: nextpnr bel types -> the resource names of :meth:`Device.capacity`.
BEL_RESOURCES = {"TRELLIS_COMB": "LUT4", "TRELLIS_FF": "FF", "MULT18X18D": "MULT18", "DP16KD": "DP16KD"}


#: nextpnr options beyond the device, the clock and the seed (none today: the defaults, HeAP placement and
#: router1).
NEXTPNR_OPTIONS: tuple[str, ...] = ()


@dataclass(frozen=True)
class TimingResult:
    """What one place-and-route run achieved."""

    fmax_mhz: float
    critical_from: str            # cell (and port) where the critical path starts
    critical_to: str              # ... and where it ends
    critical_ns: float            # its total delay
    utilisation: dict[str, dict[str, int]]   # resource -> {"used", "available"}
    seconds: float                # wall time
    cpu_seconds: float = 0.0      # nextpnr's own CPU time (one core, whatever the machine's load)


def place_and_route(netlist: Path, work: Path, *, device: Device, package: str, target_mhz: float,
                    seed: int = 1, timeout_s: float | None = None) -> TimingResult:
    """Run nextpnr-ecp5 on a ``synth_ecp5`` netlist in ``work``; returns its :class:`TimingResult`."""
    arguments = [device.nextpnr_flag, "--package", package, "--out-of-context", "--json", netlist.name,
                 "--freq", f"{target_mhz:g}", "--seed", str(seed), "--timing-allow-fail",
                 "--report", "report.json", *NEXTPNR_OPTIONS]
    run = run_tool(f"yowasp-nextpnr-{device.family}", arguments, cwd=work, log="nextpnr.log",
                   timeout_s=timeout_s)
    return read_report(json.loads((work / "report.json").read_text()), seconds=run.seconds,
                       cpu_seconds=run.cpu_seconds)


def _endpoint(step: dict[str, Any]) -> str:
    return f"{step['cell']}.{step['port']}" if step.get("port") else str(step.get("cell", "?"))


def read_report(report: dict[str, Any], *, seconds: float = 0.0, cpu_seconds: float = 0.0) -> TimingResult:
    """A :class:`TimingResult` from nextpnr's ``--report`` JSON (the one clock's Fmax and worst path)."""
    clocks = report.get("fmax", {})
    if not clocks:
        raise HwError("the timing report names no clock: the design has no registers", source="nextpnr")
    clock, fmax = min(clocks.items(), key=lambda item: item[1]["achieved"])
    paths = [p for p in report.get("critical_paths", []) if p.get("path")]
    worst = next((p for p in paths if p.get("from") == clock and p.get("to") == clock), paths[0] if paths else None)
    start = end = "-"
    delay = 0.0
    if worst is not None:
        steps = worst["path"]
        start, end = _endpoint(steps[0]["from"]), _endpoint(steps[-1]["to"])
        delay = sum(float(step.get("delay", 0.0)) for step in steps)
    utilisation = {name: {"used": int(report["utilization"][bel]["used"]),
                          "available": int(report["utilization"][bel]["available"])}
                   for bel, name in BEL_RESOURCES.items() if bel in report.get("utilization", {})}
    return TimingResult(fmax_mhz=round(float(fmax["achieved"]), 2), critical_from=start, critical_to=end,
                        critical_ns=round(delay, 3), utilisation=utilisation, seconds=round(seconds, 1),
                        cpu_seconds=round(cpu_seconds, 1))
