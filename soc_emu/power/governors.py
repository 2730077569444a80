"""DVFS governors: which OPP a frequency domain (cluster) runs at.

A governor sees only its own cluster: its OPP table, its current OPP and, for sampling governors, the
utilisation of the cluster over the last sampling period (busy slot-time / up slot-time, 0..1). The
driver (:mod:`soc_emu.power.driver`) applies the thermal cap on top of what the governor asks for.

* ``performance``: always the top OPP (DS3's ``performance``).
* ``powersave``: always the slowest OPP (DS3's ``powersave``).
* ``userspace``: one fixed OPP, ``userspace_mhz`` (the fastest OPP not above it; default the top).
* ``ondemand``: every period, utilisation above ``up_threshold`` jumps to the top OPP, below
  ``down_threshold`` steps one OPP down, in between keeps the OPP (DS3's ondemand policy, 0.8 / 0.3).
* ``schedutil``: every period, the slowest OPP with ``f >= margin * f_top * utilisation`` (Linux
  schedutil's rule with its 1.25 headroom).

Names map to classes in :data:`GOVERNORS`; nothing branches on a name elsewhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from soc_emu import limits
from soc_emu.errors import SocEmuError
from soc_emu.power.opp import OppTable


@dataclass(frozen=True)
class GovernorSpec:
    """A governor by name with its parameters (validated here, so a file or flag gets one clear error)."""

    name: str = "performance"
    userspace_mhz: float | None = None
    up_threshold: float = 0.8
    down_threshold: float = 0.3
    margin: float = 1.25
    source: str = "governor"

    def __post_init__(self) -> None:
        if self.name not in GOVERNORS:
            raise SocEmuError(f"unknown governor {self.name!r} (known: {', '.join(governor_names())})", source=self.source)
        if not (0 <= self.down_threshold <= self.up_threshold <= 1):
            raise SocEmuError(
                f"thresholds need 0 <= down ({self.down_threshold}) <= up ({self.up_threshold}) <= 1", source=self.source
            )
        if not (math.isfinite(self.margin) and self.margin > 0):
            raise SocEmuError(f"schedutil margin must be a finite number > 0, got {self.margin}", source=self.source)
        if self.userspace_mhz is not None and not limits.MHZ.contains(self.userspace_mhz):
            raise SocEmuError(f"userspace frequency must be {limits.MHZ.describe()}, got {self.userspace_mhz}",
                              source=self.source)

    @classmethod
    def parse(cls, text: str, source: str = "--governor") -> GovernorSpec:
        """``NAME`` or ``userspace:MHZ`` (the form ``--governor`` takes)."""
        name, sep, arg = text.partition(":")
        mhz = None
        if sep:
            if name != "userspace":
                raise SocEmuError(f"only userspace takes a frequency (userspace:MHZ), got {text!r}", source=source)
            try:
                mhz = float(arg)
            except ValueError:
                raise SocEmuError(f"expected userspace:MHZ, got {text!r}", source=source) from None
        return cls(name=name.strip(), userspace_mhz=mhz, source=source)

    def build(self) -> Governor:
        """A fresh governor object for one cluster of one run."""
        return GOVERNORS[self.name](self)


class Governor:
    """Base class: a fixed-OPP governor never samples."""

    #: Whether the driver must call :meth:`sample` every sampling period.
    sampling: bool = False

    def __init__(self, spec: GovernorSpec) -> None:
        self.spec = spec

    def initial(self, table: OppTable) -> int:
        """The OPP index at the start of a run."""
        return table.top

    def sample(self, table: OppTable, current: int, utilisation: float) -> int:
        """The OPP index for the next period (fixed governors keep their OPP)."""
        return current


class Performance(Governor):
    """The top OPP, always."""


class Powersave(Governor):
    """The slowest OPP, always."""

    def initial(self, table: OppTable) -> int:
        return 0


class Userspace(Governor):
    """A fixed OPP chosen by the user."""

    def initial(self, table: OppTable) -> int:
        mhz = self.spec.userspace_mhz
        return table.top if mhz is None else table.index_at_most(mhz)


class Ondemand(Governor):
    """Jump to the top above the up threshold, step down below the down threshold."""

    sampling = True

    def sample(self, table: OppTable, current: int, utilisation: float) -> int:
        if utilisation > self.spec.up_threshold:
            return table.top
        if utilisation < self.spec.down_threshold and current > 0:
            return current - 1
        return current


class Schedutil(Governor):
    """Frequency proportional to utilisation with headroom: ``f >= margin * f_top * util``."""

    sampling = True

    def sample(self, table: OppTable, current: int, utilisation: float) -> int:
        return table.index_at_least(self.spec.margin * table.nominal_mhz * utilisation)


#: Governor name -> class.
GOVERNORS: dict[str, type[Governor]] = {
    "performance": Performance,
    "powersave": Powersave,
    "userspace": Userspace,
    "ondemand": Ondemand,
    "schedutil": Schedutil,
}


def governor_names() -> list[str]:
    """Every governor name, sorted."""
    return sorted(GOVERNORS)
