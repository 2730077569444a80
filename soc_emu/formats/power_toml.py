"""The ``[power]`` table of a platform file: OPPs, power model, governor and thermal node per cluster.

::

    [power]
    ambient_c = 25.0                   # deg C (default 25)
    sampling_period_us = 100.0         # ondemand/schedutil sampling and throttling check (default 100)
    memory_bound = { fft = 0.2 }       # kernel -> fraction of its time that does not scale (default 0)

    [[power.cluster]]                  # one per frequency domain; `name` is the PEs' `cluster`
    name = "big"
    opp = [[600, 900], [2000, 1362]]   # [MHz, mV], increasing; execution times refer to the last (top) OPP
    governor = "ondemand"              # performance | powersave | userspace | ondemand | schedutil
    userspace_mhz = 1000.0             # userspace: fixed frequency (default: the top OPP)
    up_threshold = 0.8                 # ondemand (defaults 0.8 / 0.3)
    down_threshold = 0.3
    margin = 1.25                      # schedutil headroom (default 1.25)
    transition_us = 5.0                # stall of the cluster's running tasks per OPP change (default 0)
    # power model, either CMOS figures ...
    ceff_nf = 0.8                      # effective switched capacitance per busy slot (nF): P = C V^2 f
    leakage_w = 0.1                    # per up slot at the top OPP voltage
    leakage_temp_coeff = 0.0           # per deg C: leakage x exp(coeff (T - leakage_ref_c))
    leakage_ref_c = 25.0
    idle_w = 0.02                      # per idle (clock-gated) slot, besides leakage
    power_gated = false                # idle slots draw nothing (DS3's PG)
    # ... or DS3-style measured tables (W with 1, 2, ... busy cores; PG: idle cores power gated)
    # profile = [{ mhz = 1000, watts = [0.19, 0.29] }]
    # pg_profile = [{ mhz = 1000, watts = [0.13, 0.23] }]

    [power.cluster.thermal]            # optional thermal node
    resistance_c_per_w = 6.0           # to ambient
    capacitance_j_per_c = 0.002
    trip_c = [85.0, 95.0]              # increasing
    trip_mhz = [1600.0, -1]            # cap per trip (-1: none)
    hysteresis_c = 2.0

    [[power.coupling]]                 # optional, between two clusters with thermal nodes
    between = ["big", "little"]
    resistance_c_per_w = 10.0

Every bad value raises one :class:`SocEmuError` naming the file and field.
"""

from __future__ import annotations

from soc_emu import limits
from soc_emu.errors import SocEmuError
from soc_emu.formats.fields import Fields, check_number
from soc_emu.limits import Range
from soc_emu.power.governors import GovernorSpec
from soc_emu.power.model import ClusterPower, CmosPower, PowerSpec, ProfilePower
from soc_emu.power.opp import OperatingPoint, OppTable
from soc_emu.power.thermal import Coupling, ThermalParams


def _number_list(f: Fields, key: str, *, allow_minus_one: bool = False,
                 limit: Range | None = None) -> tuple[float, ...]:
    values = f.array(key, [])
    out = []
    for i, v in enumerate(values):
        if allow_minus_one and v == -1:
            out.append(-1.0)
        elif limit is not None:
            out.append(limit.check(v, f.where(f"{key}[{i}]")))
        else:
            out.append(check_number(v, f.where(f"{key}[{i}]"), minimum=-1e300 if not allow_minus_one else 0.0,
                                    strict=allow_minus_one))
    return tuple(out)


def _opps(f: Fields) -> OppTable:
    rows = f.array("opp")
    points = []
    for i, row in enumerate(rows):
        where = f.where(f"opp[{i}]")
        if not isinstance(row, list) or len(row) != 2:
            raise SocEmuError("expected [MHz, mV]", source=where)
        mhz = limits.MHZ.check(row[0], f"{where}.MHz")
        mv = limits.MILLIVOLTS.check(row[1], f"{where}.mV")
        points.append(OperatingPoint(mhz, mv))
    return OppTable(tuple(points), source=f.where("opp"))


def _profile(f: Fields, key: str) -> dict[float, tuple[float, ...]] | None:
    rows = f.tables(key, None)
    if rows is None:
        return None
    table: dict[float, tuple[float, ...]] = {}
    for r in rows:
        mhz = r.number("mhz", limit=limits.MHZ)
        watts = r.array("watts")
        table[mhz] = tuple(limits.POWER_W.check(w, r.where(f"watts[{i}]")) for i, w in enumerate(watts))
        if not table[mhz]:
            raise r.error("watts", "expected the power with 1, 2, ... busy cores")
        r.finish()
    return table


def _thermal(t: Fields | None) -> ThermalParams | None:
    if t is None:
        return None
    params = ThermalParams(
        resistance_c_per_w=t.number("resistance_c_per_w", limit=limits.THERMAL_RESISTANCE),
        capacitance_j_per_c=t.number("capacitance_j_per_c", limit=limits.THERMAL_CAPACITANCE),
        trip_c=_number_list(t, "trip_c", limit=limits.TEMPERATURE_C),
        trip_mhz=_number_list(t, "trip_mhz", allow_minus_one=True, limit=limits.MHZ),
        hysteresis_c=t.number("hysteresis_c", 0.0, limit=limits.TEMPERATURE_C),
        source=t.where(),
    )
    t.finish()
    return params


def _cluster(c: Fields) -> ClusterPower:
    name = c.string("name")
    opps = _opps(c)
    governor = GovernorSpec(
        name=c.string("governor", "performance"),
        userspace_mhz=c.number("userspace_mhz", None, limit=limits.MHZ),
        up_threshold=c.number("up_threshold", 0.8, limit=limits.FRACTION),
        down_threshold=c.number("down_threshold", 0.3, limit=limits.FRACTION),
        margin=c.number("margin", 1.25, limit=Range(0.0, 100.0, low_open=True)),
        source=c.where("governor"),
    )
    profile = _profile(c, "profile")
    pg = _profile(c, "pg_profile")
    model: CmosPower | ProfilePower
    if profile is not None or pg is not None:
        model = ProfilePower(profile=profile or {}, pg_profile=pg, source=c.where("profile"))
    else:
        model = CmosPower(
            ceff_nf=c.number("ceff_nf", limit=limits.CAPACITANCE_NF),
            leakage_w=c.number("leakage_w", 0.0, limit=limits.POWER_W),
            leakage_temp_coeff=c.number("leakage_temp_coeff", 0.0, limit=limits.FRACTION),
            leakage_ref_c=c.number("leakage_ref_c", 25.0, limit=limits.TEMPERATURE_C),
            idle_w=c.number("idle_w", 0.0, limit=limits.POWER_W),
            power_gated=c.boolean("power_gated", False),
            source=c.where(),
        )
    cluster = ClusterPower(name=name, opps=opps, model=model, governor=governor,
                           thermal=_thermal(c.sub("thermal", None)),
                           transition_us=c.number("transition_us", 0.0, limit=limits.TRANSITION_US), source=c.where())
    c.finish()
    return cluster


def power_from_fields(p: Fields | None) -> PowerSpec | None:
    """The platform's :class:`PowerSpec` from its ``[power]`` table (``None`` when absent)."""
    if p is None:
        return None
    clusters: dict[str, ClusterPower] = {}
    for c in p.tables("cluster"):
        cluster = _cluster(c)
        if cluster.name in clusters:
            raise c.error("name", f"cluster {cluster.name!r} has power data twice")
        clusters[cluster.name] = cluster
    coupling = []
    for k in p.tables("coupling", []):
        between = k.array("between")
        if len(between) != 2 or not all(isinstance(x, str) for x in between):
            raise k.error("between", "expected two cluster names")
        resistance = k.number("resistance_c_per_w", limit=limits.THERMAL_RESISTANCE)
        coupling.append(Coupling(between[0], between[1], resistance,
                                 source=k.where()))
        k.finish()
    memory = p.sub("memory_bound", {})
    fractions = ({kernel: limits.FRACTION.check(v, memory.where(kernel)) for kernel, v in memory.items()}
                 if memory else {})
    spec = PowerSpec(
        clusters=clusters,
        ambient_c=p.number("ambient_c", 25.0, limit=limits.TEMPERATURE_C),
        coupling=tuple(coupling),
        sampling_period_us=p.number("sampling_period_us", 100.0, limit=limits.SAMPLING_US),
        memory_bound=fractions,
        source=p.where(),
    )
    p.finish()
    return spec
