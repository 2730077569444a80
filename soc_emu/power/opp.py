"""Operating performance points (OPPs): the (frequency, voltage) pairs a frequency domain can run at."""

from __future__ import annotations

import math
from dataclasses import dataclass

from soc_emu.errors import SocEmuError


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """One OPP: clock frequency (MHz) and supply voltage (mV)."""

    mhz: float
    mv: float

    @property
    def volts(self) -> float:
        """Supply voltage in volts."""
        return self.mv / 1000.0


@dataclass(frozen=True)
class OppTable:
    """The OPPs of one frequency domain, by strictly increasing frequency.

    ``source`` names the file and field the table came from, so a bad table is reported there.
    Index 0 is the slowest OPP, ``top`` the fastest; the platform's execution times are measured at the
    top OPP (the *nominal* frequency), so a cluster at its top OPP runs exactly the nominal times.
    """

    points: tuple[OperatingPoint, ...]
    source: str = "opp"

    def __post_init__(self) -> None:
        if not self.points:
            raise SocEmuError("an OPP table needs at least one operating point", source=self.source)
        for i, p in enumerate(self.points):
            for value, what in ((p.mhz, "frequency"), (p.mv, "voltage")):
                if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                    raise SocEmuError(f"OPP {i}: {what} must be a finite number > 0, got {value!r}", source=self.source)
        for i in range(1, len(self.points)):
            if not self.points[i].mhz > self.points[i - 1].mhz:
                raise SocEmuError(
                    f"OPP frequencies must increase: {self.points[i - 1].mhz:g} MHz then {self.points[i].mhz:g} MHz",
                    source=self.source,
                )

    def __len__(self) -> int:
        return len(self.points)

    @property
    def top(self) -> int:
        """Index of the fastest OPP."""
        return len(self.points) - 1

    @property
    def nominal_mhz(self) -> float:
        """The frequency the platform's execution times refer to (the top OPP)."""
        return self.points[-1].mhz

    def index_at_most(self, mhz: float) -> int:
        """Index of the fastest OPP not above ``mhz`` (0 when even the slowest is above it)."""
        best = 0
        for i, p in enumerate(self.points):
            if p.mhz <= mhz + 1e-9:
                best = i
        return best

    def index_at_least(self, mhz: float) -> int:
        """Index of the slowest OPP not below ``mhz`` (the top when none reaches it)."""
        for i, p in enumerate(self.points):
            if p.mhz >= mhz - 1e-9:
                return i
        return self.top

    def index_of(self, mhz: float) -> int | None:
        """Index of the OPP at exactly ``mhz``, or ``None``."""
        for i, p in enumerate(self.points):
            if abs(p.mhz - mhz) < 1e-9:
                return i
        return None
