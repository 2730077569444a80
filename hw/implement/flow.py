"""The implementation flow of a planned design: every core synthesised, checked, placed and routed.

Each core is implemented on its own, out of context, as it would sit on a board beside the others: its
memories, FIFOs, stream ports and off-chip read/write ports are all inside; the off-chip memory model is
a simulation-only testbench DRAM and is not implemented. A design's Fmax is its slowest core's, and its
utilisation is the sum over its cores. Results are cached under ``sim_build/implement/`` by the core's
RTLIL and the tool options, so re-running a table only places and routes what changed.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hw.implement.devices import DEFAULT_DEVICE, find_device
from hw.implement.place_route import NEXTPNR_OPTIONS, place_and_route
from hw.implement.synth import SYNTH_OPTIONS, cell_counts, check_fits, netlist_resources, synthesise
from hw.planner.plan import DesignPlan
from hw.sim.paths import sim_build_dir

#: The clock nextpnr's timing-driven placement and routing aims at (MHz).
DEFAULT_TARGET_MHZ = 100.0


@dataclass(frozen=True)
class CoreImplementation:
    """One core's implementation: where it ran, what it needs and how fast it goes."""

    core: str
    lanes: int
    device: str
    package: str
    fmax_mhz: float
    critical_from: str
    critical_to: str
    critical_ns: float
    utilisation: dict[str, dict[str, int]]
    synth_seconds: float
    pnr_seconds: float            # place-and-route wall time
    rtl_digest: str
    pnr_cpu_seconds: float = 0.0  # nextpnr's own CPU time: its cost on one dedicated core

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def _digest(rtlil: str, options: dict[str, Any]) -> str:
    return hashlib.sha256((json.dumps(options, sort_keys=True) + rtlil).encode()).hexdigest()[:16]


def core_rtlil(design: DesignPlan, index: int) -> Path:
    """RTLIL of core ``index`` of ``design`` (cached by :mod:`hw.sim.convert`)."""
    from hw.designs.accelerator import build_core
    from hw.designs.simulate import plan_key
    from hw.sim.convert import rtlil_for

    def core_factory(design_key: str, core: int):
        # the parameters only name the cache entry; the core is built from the plan
        return build_core(design, core)
    core_factory.__qualname__ = "implement_core"
    return rtlil_for(core_factory, {"design_key": plan_key(design), "core": index})


def implement_core(design: DesignPlan, index: int, *, device: str = DEFAULT_DEVICE, package: str | None = None,
                   target_mhz: float = DEFAULT_TARGET_MHZ, seed: int = 1, work_dir: Path | None = None,
                   timeout_s: float | None = None) -> CoreImplementation:
    """Synthesise, check and place and route core ``index`` of ``design`` (cached on disk).

    Raises :class:`HwError` for an unknown device/package, a core that does not fit, or a tool failure."""
    part, package = find_device(device, package)
    rtlil = core_rtlil(design, index).read_text()
    options = {"device": part.name, "package": package, "target_mhz": target_mhz, "seed": seed,
               "synth": list(SYNTH_OPTIONS), "nextpnr": list(NEXTPNR_OPTIONS)}
    digest = _digest(rtlil, options)
    cache = sim_build_dir() / "implement" / f"{digest}.json"
    if cache.is_file() and work_dir is None:
        return CoreImplementation(**json.loads(cache.read_text()))
    core = design.cores[index]
    with tempfile.TemporaryDirectory(prefix="implement-") as scratch:
        work = Path(work_dir) if work_dir is not None else Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        source = work / "core.il"
        source.write_text(rtlil)
        netlist, synth_seconds = synthesise(source, work)
        check_fits(netlist_resources(cell_counts(netlist)), part, what=f"{design.kernel} {design.variant} {core.name}")
        timing = place_and_route(netlist, work, device=part, package=package, target_mhz=target_mhz, seed=seed,
                                 timeout_s=timeout_s)
    result = CoreImplementation(core=core.name, lanes=core.lanes, device=part.name, package=package,
                                fmax_mhz=timing.fmax_mhz, critical_from=timing.critical_from,
                                critical_to=timing.critical_to, critical_ns=timing.critical_ns,
                                utilisation=timing.utilisation, synth_seconds=round(synth_seconds, 1),
                                pnr_seconds=timing.seconds, rtl_digest=hashlib.sha256(rtlil.encode()).hexdigest()[:16],
                                pnr_cpu_seconds=timing.cpu_seconds)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result.to_dict(), indent=1))
    return result


def implement_design(design: DesignPlan, **options: Any) -> dict[str, Any]:
    """Every core of ``design`` implemented (see :func:`implement_core`); the design's summary record.

    ``fmax_mhz`` is the slowest core's; ``utilisation`` sums the cores' used resources."""
    started = time.monotonic()
    cores = [implement_core(design, index, **options) for index in range(len(design.cores))]
    used: dict[str, int] = {}
    available: dict[str, int] = {}
    for core in cores:
        for name, figures in core.utilisation.items():
            used[name] = used.get(name, 0) + figures["used"]
            available[name] = figures["available"]
    slowest = min(cores, key=lambda c: c.fmax_mhz)
    return {"kernel": design.kernel, "variant": design.variant, "mapping": design.decisions.get("mapping"),
            "device": cores[0].device, "package": cores[0].package, "fmax_mhz": slowest.fmax_mhz,
            "critical_core": slowest.core, "critical_from": slowest.critical_from, "critical_to": slowest.critical_to,
            "utilisation": {name: {"used": used[name], "available": available[name]} for name in used},
            "cores": [c.to_dict() for c in cores], "wall_seconds": round(time.monotonic() - started, 1)}
