"""Stored implementation results: the measured Fmax of every design, read back without place and route.

``benchmarks/hw_implement.py`` writes one JSON file of :func:`hw.implement.flow.implement_design`
records; ``soc-emu hw export-timings --implementation FILE`` reads the clocks from it. Each record keeps
its cores' RTL digests, and a record whose RTL no longer matches what the generator builds today is
refused: a stored Fmax only stands for the very design that was placed and routed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hw.errors import HwError
from hw.implement.flow import core_rtlil
from hw.planner.plan import DesignPlan


def load_implementations(path: str | Path) -> dict[tuple[str, str], dict[str, Any]]:
    """``(kernel, variant) -> implementation record`` of a stored results file."""
    source = str(path)
    try:
        data = json.loads(Path(path).read_text())
        return {(r["kernel"], r["variant"]): r for r in data["designs"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HwError(f"not a stored implementation file ({exc})", source=source) from None


def stored_fmax(design: DesignPlan, stored: Mapping[tuple[str, str], Mapping[str, Any]], *, source: str) -> float:
    """The stored Fmax (MHz) of ``design``, after checking that its cores' RTL is what was implemented."""
    record = stored.get((design.kernel, design.variant))
    if record is None:
        raise HwError(f"has no implementation of {design.kernel} {design.variant}", source=source)
    if len(record["cores"]) != len(design.cores):
        raise HwError(f"{design.kernel} {design.variant} was implemented with {len(record['cores'])} cores, "
                      f"the design has {len(design.cores)}", source=source)
    for index, core in enumerate(record["cores"]):
        digest = hashlib.sha256(core_rtlil(design, index).read_text().encode()).hexdigest()[:16]
        if digest != core["rtl_digest"]:
            raise HwError(f"{design.kernel} {design.variant} {core['core']} was implemented from other RTL "
                          f"({core['rtl_digest']}, now {digest}): re-run benchmarks/hw_implement.py",
                          source=source)
    return float(record["fmax_mhz"])
