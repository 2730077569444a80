"""Power models of a frequency domain (cluster) and the platform's power specification.

A cluster's power is split into what each *busy* slot draws and what each *idle* (up, not executing)
slot draws; a slot of a PE that is down draws nothing. Two models give these figures:

:class:`CmosPower` (our TOML files)
    busy slot: ``C V^2 f`` (dynamic; ``ceff_nf`` nF x V^2 x MHz x 1e-3 = W) plus leakage;
    idle slot: ``idle_w`` (clock-gated) plus leakage, or nothing when ``power_gated``.
    Leakage per up slot is ``leakage_w x (V / V_top) x exp(leakage_temp_coeff x (T - leakage_ref_c))``
    (temperature-independent when the coefficient is 0, or when the cluster has no thermal node).
:class:`ProfilePower` (DS3's ``power_profile`` / ``PG_profile`` lines)
    the cluster draws ``profile[f][k-1]`` W with ``k`` busy cores, shared equally by the busy slots.
    With ``PG_profile`` (power-gated idle cores, DS3's PG mode) that table is used and an all-idle
    cluster draws nothing; without it an all-idle cluster draws ``max(0, 2 p1 - p2)`` (the profile's
    extrapolation to zero cores). At a frequency the table does not list, the nearest listed frequency's
    figure is scaled by ``(f / f_ref) (V / V_ref)^2``.

Clusters without power data keep the PE's fixed ``active_power_w`` / ``idle_power_w`` and never change
frequency.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from soc_emu.errors import SocEmuError
from soc_emu.power.governors import GovernorSpec
from soc_emu.power.opp import OppTable
from soc_emu.power.thermal import Coupling, ThermalParams


def _check(value: float, what: str, source: str, *, strict: bool = False) -> None:
    ok = isinstance(value, (int, float)) and math.isfinite(value) and (value > 0 if strict else value >= 0)
    if not ok:
        raise SocEmuError(f"{what} must be a finite number {'>' if strict else '>='} 0, got {value!r}", source=source)


@dataclass(frozen=True)
class CmosPower:
    """Dynamic ``C V^2 f`` per busy slot, leakage per up slot, clock-gated idle power (see module doc)."""

    ceff_nf: float
    leakage_w: float = 0.0
    leakage_temp_coeff: float = 0.0
    leakage_ref_c: float = 25.0
    idle_w: float = 0.0
    power_gated: bool = False
    source: str = "power"

    def __post_init__(self) -> None:
        for name in ("ceff_nf", "leakage_w", "leakage_temp_coeff", "idle_w"):
            _check(getattr(self, name), name, f"{self.source}.{name}")

    def slot_powers(self, table: OppTable, opp: int, busy: int, temperature: float | None) -> tuple[float, float]:
        """``(W per busy slot, W per idle up slot)`` at OPP ``opp`` with ``busy`` busy slots."""
        point = table.points[opp]
        v = point.volts
        leak = self.leakage_w * v / table.points[-1].volts
        if self.leakage_temp_coeff and temperature is not None:
            leak *= math.exp(self.leakage_temp_coeff * (temperature - self.leakage_ref_c))
        busy_w = self.ceff_nf * v * v * point.mhz * 1e-3 + leak
        return busy_w, (0.0 if self.power_gated else self.idle_w + leak)


@dataclass(frozen=True)
class ProfilePower:
    """DS3's measured cluster power by frequency and number of busy cores (see module doc).

    ``profile`` maps MHz to W for 1, 2, ... busy cores (``power_profile``); ``pg_profile`` the same with
    idle cores power gated (``PG_profile``), used when given. Every listed frequency must be an OPP.
    """

    profile: Mapping[float, tuple[float, ...]]
    pg_profile: Mapping[float, tuple[float, ...]] | None = None
    source: str = "power_profile"

    def check(self, table: OppTable, slots: int) -> None:
        """Validate against the cluster's OPP table and number of slots."""
        for what, tab in (("power_profile", self.profile), ("PG_profile", self.pg_profile or {})):
            for mhz, watts in tab.items():
                if table.index_of(mhz) is None:
                    raise SocEmuError(f"{what} at {mhz:g} MHz, which is not an OPP of the cluster", source=self.source)
                if len(watts) > slots:
                    raise SocEmuError(f"{what} at {mhz:g} MHz gives {len(watts)} core counts for {slots} slots",
                                      source=self.source)
                for w in watts:
                    _check(w, f"{what} power", self.source)
        if not self.profile and not self.pg_profile:
            raise SocEmuError("a power profile needs at least one frequency", source=self.source)

    def _table(self) -> Mapping[float, tuple[float, ...]]:
        return self.pg_profile if self.pg_profile else self.profile

    def cluster_power(self, table: OppTable, opp: int, busy: int) -> float:
        """Cluster power (W) with ``busy`` busy cores at OPP ``opp``."""
        tab = self._table()
        point = table.points[opp]
        ref = point.mhz if point.mhz in tab else min(tab, key=lambda f: (f < point.mhz, abs(f - point.mhz)))
        row = tab[ref]
        if busy == 0:
            watts = 0.0 if self.pg_profile else (max(0.0, 2 * row[0] - row[1]) if len(row) > 1 else 0.0)
        else:
            watts = row[min(busy, len(row)) - 1] * (busy / len(row) if busy > len(row) else 1.0)
        if ref != point.mhz:
            ref_point = table.points[table.index_of(ref)]  # type: ignore[index]
            watts *= (point.mhz / ref) * (point.mv / ref_point.mv) ** 2
        return watts

    def slot_powers(self, table: OppTable, opp: int, busy: int, temperature: float | None) -> tuple[float, float]:
        """``(W per busy slot, W per idle up slot)``: busy slots share the cluster power; an all-idle
        cluster's power is shared by the core counts its table lists."""
        if busy == 0:
            tab = self._table()
            cores = max(len(row) for row in tab.values())
            return 0.0, self.cluster_power(table, opp, 0) / cores
        return self.cluster_power(table, opp, busy) / busy, 0.0


@dataclass(frozen=True)
class ClusterPower:
    """Power data of one frequency domain: its PEs, OPPs, power model, governor and thermal node."""

    name: str
    opps: OppTable
    model: CmosPower | ProfilePower
    governor: GovernorSpec = field(default_factory=GovernorSpec)
    thermal: ThermalParams | None = None
    transition_us: float = 0.0
    source: str = "power"

    def __post_init__(self) -> None:
        _check(self.transition_us, "transition latency", f"{self.source}.transition_us")


@dataclass(frozen=True)
class PowerSpec:
    """A platform's power, DVFS and thermal data (``Platform.power``).

    Attributes
    ----------
    clusters:
        Per frequency domain; the key is the PEs' ``cluster`` name.
    ambient_c:
        Ambient temperature (deg C).
    coupling:
        Thermal resistances between clusters.
    sampling_period_us:
        Period of sampling governors and of the throttling check.
    memory_bound:
        Kernel -> fraction of its execution time that does not scale with frequency (default 0).
    """

    clusters: Mapping[str, ClusterPower]
    ambient_c: float = 25.0
    coupling: tuple[Coupling, ...] = ()
    sampling_period_us: float = 100.0
    memory_bound: Mapping[str, float] = field(default_factory=dict)
    source: str = "power"

    def __post_init__(self) -> None:
        _check(self.sampling_period_us, "sampling period", f"{self.source}.sampling_period_us", strict=True)
        if not (math.isfinite(self.ambient_c) and self.ambient_c > -273.15):
            raise SocEmuError(f"ambient temperature must be above absolute zero, got {self.ambient_c!r}",
                              source=f"{self.source}.ambient_c")
        for kernel, frac in self.memory_bound.items():
            if not (isinstance(frac, (int, float)) and 0 <= frac <= 1):
                raise SocEmuError(f"memory-bound fraction must be in [0, 1], got {frac!r}",
                                  source=f"{self.source}.memory_bound.{kernel}")
        for c in self.coupling:
            for end in (c.a, c.b):
                cluster = self.clusters.get(end)
                if cluster is None or cluster.thermal is None:
                    raise SocEmuError(f"cluster {end!r} has no thermal parameters", source=f"{c.source}.between")

    def check_platform(self, pes: tuple, where: str) -> None:
        """Every power cluster must name PEs of the platform; profiles must fit the cluster's slots."""
        slots: dict[str, int] = {}
        for pe in pes:
            slots[pe.cluster] = slots.get(pe.cluster, 0) + pe.capacity
        for name, cluster in self.clusters.items():
            if name not in slots:
                raise SocEmuError(f"power data for cluster {name!r}, which no PE belongs to (clusters: "
                                  f"{', '.join(sorted(slots))})", source=cluster.source)
            if isinstance(cluster.model, ProfilePower):
                cluster.model.check(cluster.opps, slots[name])
