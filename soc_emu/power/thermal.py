"""Lumped RC thermal model: one node per cluster, conductances to ambient and between clusters.

For node temperatures ``T`` (deg C) and per-node power ``P`` (W)::

    C_i dT_i/dt = P_i - (T_i - T_amb) / R_i - sum_j (T_i - T_j) / R_ij

With ``x = T - T_amb`` this is ``dx/dt = C^-1 (P - G x)`` where ``G`` is the conductance matrix. While the
power is constant (it changes only at engine events) the exact solution is::

    x(t) = x_ss + exp(-C^-1 G t) (x(0) - x_ss),    x_ss = G^-1 P

so the model advances in closed form from one update to the next and never ticks (the driver updates it
with each node's average power over the interval, see :mod:`soc_emu.power.driver`). ``C^-1 G`` is similar to the
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
from operator import mul

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

    The state is kept in modal coordinates (the eigenvectors of ``C^-1 G``), where the modes decay
    independently: advancing costs one ``exp`` per mode and a node's power change updates the modal steady
    state in ``O(n)``; temperatures are rebuilt only when asked for.

    Parameters
    ----------
    nodes:
        Cluster names, one node each.
    params:
        One :class:`ThermalParams` per node.
    coupling:
        Resistances between nodes (each pair at most once).
    ambient_c:
        Ambient temperature; every node starts there with zero power.
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
        lam, q = np.linalg.eigh(g / np.outer(half, half))  # per second
        vinv = q.T * half[None, :]  # Q^T C^1/2: node rises -> modes
        self._n = n
        self._rates = [float(x) * 1e-6 for x in lam]  # per microsecond
        self._v = (q / half[:, None]).tolist()  # C^-1/2 Q: modes -> node rises
        # Modal steady state per watt of node j: Lambda^-1 Q^T C^-1/2 (so that V z_ss = G^-1 P).
        self._w = ((q.T / half[None, :]) / lam[:, None]).tolist()
        del vinv
        self._power = [0.0] * n
        self._z = [0.0] * n  # modal amplitudes
        self._zss = [0.0] * n  # modal steady state at the current power
        self._zint = [0.0] * n  # time integral of the modal amplitudes (x us)

    def fastest_time_constant_us(self) -> float:
        """The shortest modal time constant (us)."""
        return 1.0 / max(self._rates)

    def set_power(self, node: int, watts: float) -> None:
        """Node ``node`` draws ``watts`` from now on."""
        delta = watts - self._power[node]
        if delta:
            self._power[node] = watts
            zss = self._zss
            for k, row in enumerate(self._w):
                zss[k] += row[node] * delta

    def advance(self, dt_us: float) -> None:
        """Let ``dt_us`` pass at the current power (exact)."""
        if dt_us <= 0:
            return
        z, zss, zint = self._z, self._zss, self._zint
        for k, rate in enumerate(self._rates):
            e = math.exp(-rate * dt_us)
            d = z[k] - zss[k]
            zint[k] += zss[k] * dt_us + d * (1.0 - e) / rate
            z[k] = zss[k] + d * e

    def rise(self, node: int) -> float:
        """Temperature of ``node`` above ambient now."""
        return sum(map(mul, self._v[node], self._z))

    def temperature(self, node: int) -> float:
        """Temperature of ``node`` now (deg C)."""
        return self.ambient_c + self.rise(node)

    def steady_rise_now(self, node: int) -> float:
        """Steady-state rise of ``node`` above ambient if the current power stayed on."""
        return sum(map(mul, self._v[node], self._zss))

    def rise_integral(self, node: int) -> float:
        """Time integral of ``node``'s rise above ambient since the start (deg C x us)."""
        return sum(map(mul, self._v[node], self._zint))

    def steady_rise(self, power: Sequence[float]) -> list[float]:
        """Steady-state rises above ambient for constant ``power`` (``G^-1 P``), without changing state."""
        n = self._n
        zss = [sum(self._w[k][j] * power[j] for j in range(n)) for k in range(n)]
        return [sum(self._v[i][k] * zss[k] for k in range(n)) for i in range(n)]
