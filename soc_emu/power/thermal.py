"""Lumped RC thermal model: one node per cluster, conductances to ambient and between clusters.

For node temperatures ``T`` (deg C) and per-node power ``P`` (W)::

    C_i dT_i/dt = P_i - (T_i - T_amb) / R_i - sum_j (T_i - T_j) / R_ij

With ``x = T - T_amb`` this is ``dx/dt = C^-1 (P - G x)`` where ``G`` is the conductance matrix. While the
power is constant (it changes only at engine events) the exact solution is::

    x(t) = x_ss + exp(-C^-1 G t) (x(0) - x_ss),    x_ss = G^-1 P

so the model advances in closed form from event to event and never ticks. ``C^-1 G`` is similar to the
symmetric positive definite ``C^-1/2 G C^-1/2``, whose eigen-decomposition is computed once per run; an
update then costs ``O(n^2)`` plain float operations for ``n`` thermal nodes. Without coupling a node's
steady state is ``T_amb + P R`` and its time constant ``R C``.

Throttling (DS3's ``trip_freq``): a node has increasing trip temperatures and, per trip, a frequency cap
(``-1``: no cap at that trip). At temperature ``>= trip_k`` the cluster runs at most at the tightest cap of
trips ``1..k``; a level is released when the temperature falls below ``trip_k - hysteresis_c``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from soc_emu.errors import SocEmuError


def _positive(value: float, what: str, source: str, *, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float)) and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise SocEmuError(f"{what} must be a finite number {'>=' if allow_zero else '>'} 0, got {value!r}", source=source)


@dataclass(frozen=True)
class ThermalParams:
    """Thermal node of one cluster.

    Attributes
    ----------
    resistance_c_per_w:
        Thermal resistance to ambient (deg C per W): the steady-state rise per watt.
    capacitance_j_per_c:
        Heat capacity (J per deg C); ``R x C`` is the time constant in seconds.
    trip_c:
        Trip temperatures, increasing (deg C).
    trip_mhz:
        Frequency cap per trip (MHz; ``-1``: no cap at that trip), one per trip temperature.
    hysteresis_c:
        A throttling level is released below ``trip - hysteresis_c``.
    """

    resistance_c_per_w: float
    capacitance_j_per_c: float
    trip_c: tuple[float, ...] = ()
    trip_mhz: tuple[float, ...] = ()
    hysteresis_c: float = 0.0
    source: str = "thermal"

    def __post_init__(self) -> None:
        _positive(self.resistance_c_per_w, "thermal resistance", f"{self.source}.resistance_c_per_w")
        _positive(self.capacitance_j_per_c, "heat capacity", f"{self.source}.capacitance_j_per_c")
        _positive(self.hysteresis_c, "hysteresis", f"{self.source}.hysteresis_c", allow_zero=True)
        if len(self.trip_c) != len(self.trip_mhz):
            raise SocEmuError(f"{len(self.trip_c)} trip temperatures but {len(self.trip_mhz)} trip frequencies",
                              source=f"{self.source}.trip_mhz")
        for i, t in enumerate(self.trip_c):
            if not (math.isfinite(t) and t > -273.15):
                raise SocEmuError(f"trip temperature must be a finite number above absolute zero, got {t!r}",
                                  source=f"{self.source}.trip_c[{i}]")
            if i and not t > self.trip_c[i - 1]:
                raise SocEmuError("trip temperatures must increase", source=f"{self.source}.trip_c")
        for i, f in enumerate(self.trip_mhz):
            if not (f == -1 or (math.isfinite(f) and f > 0)):
                raise SocEmuError(f"trip frequency must be > 0 MHz or -1 (no cap), got {f!r}",
                                  source=f"{self.source}.trip_mhz[{i}]")

    def level(self, temperature: float, current: int) -> int:
        """Throttling level (number of trips in force) at ``temperature`` given the current level."""
        level = current
        trips = self.trip_c
        while level < len(trips) and temperature >= trips[level]:
            level += 1
        while level > 0 and temperature < trips[level - 1] - self.hysteresis_c:
            level -= 1
        return level

    def cap_mhz(self, level: int) -> float:
        """Frequency cap at a throttling level (``inf``: none)."""
        caps = [f for f in self.trip_mhz[:level] if f > 0]
        return min(caps) if caps else math.inf


@dataclass(frozen=True)
class Coupling:
    """Thermal resistance between two clusters' nodes (deg C per W)."""

    a: str
    b: str
    resistance_c_per_w: float
    source: str = "thermal.coupling"

    def __post_init__(self) -> None:
        _positive(self.resistance_c_per_w, "coupling resistance", f"{self.source}.resistance_c_per_w")
        if self.a == self.b:
            raise SocEmuError(f"a cluster cannot be coupled to itself ({self.a!r})", source=f"{self.source}.between")


class ThermalModel:
    """Closed-form evolution of the node temperatures under piecewise-constant power.

    Parameters
    ----------
    nodes:
        Cluster names, one node each, in the order power vectors use.
    params:
        One :class:`ThermalParams` per node.
    coupling:
        Resistances between nodes (each pair at most once).
    ambient_c:
        Ambient temperature; every node starts there.
    """

    def __init__(self, nodes: Sequence[str], params: Sequence[ThermalParams], coupling: Sequence[Coupling] = (),
                 ambient_c: float = 25.0) -> None:
        import numpy as np

        n = len(nodes)
        self.nodes = tuple(nodes)
        self.ambient_c = ambient_c
        index = {name: i for i, name in enumerate(nodes)}
        g = np.zeros((n, n))
        for i, p in enumerate(params):
            g[i, i] += 1.0 / p.resistance_c_per_w
        for c in coupling:
            for end in (c.a, c.b):
                if end not in index:
                    raise SocEmuError(f"cluster {end!r} has no thermal parameters", source=f"{c.source}.between")
            i, j = index[c.a], index[c.b]
            k = 1.0 / c.resistance_c_per_w
            g[i, i] += k
            g[j, j] += k
            g[i, j] -= k
            g[j, i] -= k
        cap = np.array([p.capacitance_j_per_c for p in params])
        half = np.sqrt(cap)
        sym = g / np.outer(half, half)
        lam, q = np.linalg.eigh(sym)
        self._rates = [float(x) * 1e-6 for x in lam]  # per microsecond
        self._v = (q / half[:, None]).tolist()  # C^-1/2 Q
        self._vinv = (q.T * half[None, :]).tolist()  # Q^T C^1/2
        self._ginv = np.linalg.inv(g).tolist()
        self._n = n

    def steady_rise(self, power: Sequence[float]) -> list[float]:
        """Steady-state temperature rise above ambient for constant ``power`` (``G^-1 P``)."""
        return [sum(row[j] * power[j] for j in range(self._n)) for row in self._ginv]

    def advance(self, rise: list[float], power: Sequence[float], dt_us: float) -> tuple[list[float], list[float]]:
        """Temperature rises above ambient after ``dt_us`` at constant ``power``, from ``rise``, and the
        exact time integral of each rise over the step (deg C x us, for time-weighted means)."""
        n = self._n
        if dt_us <= 0:
            return rise, [0.0] * n
        ss = self.steady_rise(power)
        diff = [rise[j] - ss[j] for j in range(n)]
        modes = [sum(row[j] * diff[j] for j in range(n)) for row in self._vinv]
        decay = [math.exp(-rate * dt_us) for rate in self._rates]
        now = [m * e for m, e in zip(modes, decay)]
        area = [m * (1.0 - e) / rate if rate > 0 else m * dt_us for m, e, rate in zip(modes, decay, self._rates)]
        v = self._v
        new = [ss[i] + sum(v[i][k] * now[k] for k in range(n)) for i in range(n)]
        integral = [ss[i] * dt_us + sum(v[i][k] * area[k] for k in range(n)) for i in range(n)]
        return new, integral
