"""The run-time side of the power model: OPPs, energy, temperature and throttling during one run.

The engine owns one :class:`PowerDriver` when the platform has power data (``Platform.power``) and calls it
at a few points: a task starts executing (:meth:`~PowerDriver.started`, which returns the task's
frequency-scaled execution time), a task stops (:meth:`~PowerDriver.finished`), a PE goes down or comes
back, the run begins and ends. Between these events every cluster's power is constant, so energy is
integrated exactly (power x elapsed time) and temperatures advance in closed form
(:class:`~soc_emu.power.thermal.ThermalModel`); nothing ticks except the sampling of ``ondemand`` /
``schedutil`` governors and the throttling check, one timeout per ``sampling_period_us`` and only while
some cluster is busy (an idle system leaves no pending event, so a stalled run is still detected).

Execution time
    A kernel with memory-bound fraction ``m`` (``PowerSpec.memory_bound``, default 0) takes
    ``t_nominal (m + (1 - m) f_nominal / f)`` at frequency ``f``; ``f_nominal`` is the cluster's top
    OPP, the frequency the platform's execution times were measured at. So a cluster at its top OPP runs
    the nominal times exactly, and a platform without power data never reaches this code.
Frequency changes mid-task
    When a cluster changes OPP, each task executing on it keeps the work already done, its remaining
    work is rescaled to the new frequency and it is stalled for the cluster's ``transition_us``; the
    engine re-times its finish event (:meth:`Simulation._retime`). A task starting during a transition
    waits for the transition's end. Launch and reconfiguration overheads do not scale.
Temperature
    The thermal state advances in closed form from one thermal update to the next with each node's
    *average* power over the interval (its exact energy divided by the time). Updates happen at the first
    event of a thermal cluster at least 1/50 of the fastest thermal time constant after the previous update
    (so the averaging moves temperatures by at most about 1 % of a power swing's effect), at
    sampling ticks and at the end of the run. Under constant power this is the exact solution; in general
    it is exact for the energy put into each node and accurate to O(step / time constant) in between.
Throttling
    At every thermal update each cluster's throttling level is re-evaluated; the frequency is
    ``min(governor's choice, cap of the level)``. While some node is throttled, or heads for a trip at
    its current power, the periodic tick keeps running so that a long task cannot hide a crossing.
Leakage
    A temperature-dependent leakage is evaluated at the temperature of the latest thermal update (it is
    piecewise constant like the rest of the power), which keeps the energy integral exact for the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from soc_emu.engine.records import JobRecord, PowerRecord
from soc_emu.power.governors import Governor, GovernorSpec
from soc_emu.power.model import ClusterPower, PowerSpec
from soc_emu.power.opp import OppTable
from soc_emu.power.thermal import ThermalModel

if TYPE_CHECKING:
    import simpy

    from soc_emu.engine.view import PEState
    from soc_emu.model.platform import Platform

_NAN = math.nan


#: A task executing on a slot, since ``since``: ``(job_id, since, fixed_left, work_left, mem, acc0, idle0)``
#: with the non-scaling time left (transition stall), the execution time left at the nominal frequency,
#: the kernel's memory-bound fraction, and the domain's per-busy-slot / per-idle-slot energy integrals
#: when the task started (its energy is the busy integral's growth; a re-timed task keeps acc0/idle0).
_Exec = tuple[int, float, float, float, float, float, float]


class _Domain:
    """Run-time state of one frequency domain (a power cluster, or a lone PE without power data)."""

    def __init__(self, name: str, pes: list[PEState], spec: ClusterPower | None, governor: Governor | None) -> None:
        self.name = name
        self.pes = pes
        self.spec = spec
        self.governor = governor
        self.table: OppTable | None = spec.opps if spec is not None else None
        self.want = governor.initial(self.table) if governor is not None and self.table is not None else 0
        self.opp = self.want
        self.level = 0
        self.cap = self.table.top if self.table is not None else 0
        self.ratio = self._ratio()
        self.busy = 0
        self.up = sum(ps.pe.capacity for ps in pes)
        # Per PE: energy of its busy slots, and the idle-slot energy integral its tasks and down time
        # took away from "every slot idle all the time" (see PowerDriver.metrics).
        self.pe_busy_energy = {ps.pe.index: 0.0 for ps in pes}
        self.pe_not_idle = {ps.pe.index: 0.0 for ps in pes}
        self.pe_down_since: dict[int, float] = {}
        self.pe_state = {ps.pe.index: ps for ps in pes}
        self.t_last = 0.0
        self.energy = 0.0
        self.busy_acc = 0.0  # integral of the power of one busy slot (uJ)
        self.idle_acc = 0.0  # integral of the power of one idle up slot (uJ)
        self.busy_time = 0.0  # integral of busy slots (slot-us)
        self.up_time = 0.0  # integral of up slots (slot-us)
        self.busy_mark = 0.0  # busy_time and up_time at the latest sampling tick
        self.up_mark = 0.0
        self.busy_w = 0.0
        self.idle_w = 0.0
        self.power_w = 0.0
        self.node = -1  # thermal node index
        self.trans_until = 0.0
        self.transitions = 0
        self.residency = [0.0] * (len(self.table) if self.table is not None else 1)
        self.opp_since = 0.0  # when the current OPP was entered (residency is settled on changes)
        self.throttled_us = 0.0
        self.level_since = 0.0
        self.sampled = governor is not None and governor.sampling  # integrate busy/up slot-time
        #: Per PE (by index) and slot: the task executing there, or None.
        self.execs: dict[int, list[_Exec | None]] = {ps.pe.index: [None] * ps.pe.capacity for ps in pes}
        self.trip_low = math.inf  # lowest trip temperature (no throttling check below it at level 0)
        self.temperature = _NAN  # at the latest thermal update (nan: no thermal node)
        self.thermal_mark = 0.0  # energy at the latest thermal update
        #: Whether the power is a function of (OPP, busy, up) only (not of the temperature).
        self.cache = True
        #: At the current OPP and up slots, per number of busy slots: (W per busy slot, W per idle slot,
        #: cluster W); None: to be rebuilt (after an OPP or up change, or when power depends on T).
        self.row: list[tuple[float, float, float]] | None = None

    def _ratio(self) -> float:
        t = self.table
        return 1.0 if t is None else t.nominal_mhz / t.points[self.opp].mhz

    @property
    def mhz(self) -> float:
        return _NAN if self.table is None else self.table.points[self.opp].mhz


class PowerDriver:
    """Power, DVFS and thermal state of one run (see the module docstring).

    Parameters
    ----------
    platform:
        The platform; ``platform.power`` must be set.
    pes:
        The engine's live PE states (indexed like ``platform.pes``).
    env:
        The run's SimPy environment (the driver reads the clock and schedules sampling timeouts).
    governor:
        Overrides every cluster's governor (``--governor``); ``None``: each cluster's own.
    retime:
        ``retime(pe_state, slot, remaining_us)``: the engine moves a running task's finish event.
    on_power:
        Observer hooks receiving :class:`PowerRecord` (empty: records are not built).
    """

    def __init__(self, platform: Platform, pes: Sequence[PEState], env: simpy.Environment,
                 governor: GovernorSpec | None, retime: Callable[[Any, int, float], None],
                 on_power: Sequence[Callable[[PowerRecord], None]] = ()) -> None:
        spec = platform.power
        assert spec is not None
        self.spec: PowerSpec = spec
        self.env = env
        self._retime = retime
        self._on_power = list(on_power)
        self._memory = dict(spec.memory_bound)
        groups: dict[str, list[PEState]] = {}
        for ps in pes:
            key = ps.pe.cluster if ps.pe.cluster in spec.clusters else f"\0{ps.pe.name}"
            groups.setdefault(key, []).append(ps)
        self.domains: list[_Domain] = []
        self._domain_of: list[_Domain] = [None] * len(pes)  # type: ignore[list-item]
        for key, members in groups.items():
            cluster = spec.clusters.get(key)
            gov = None
            if cluster is not None:
                gov = (governor or cluster.governor).build()
            d = _Domain(key if cluster is not None else members[0].pe.name, members, cluster, gov)
            self.domains.append(d)
            for ps in members:
                self._domain_of[ps.pe.index] = d
        thermal = [d for d in self.domains if d.spec is not None and d.spec.thermal is not None]
        for i, d in enumerate(thermal):
            d.node = i
            d.temperature = spec.ambient_c
            params = d.spec.thermal  # type: ignore[union-attr]
            d.trip_low = params.trip_c[0] if params.trip_c else math.inf
            model = d.spec.model  # type: ignore[union-attr]
            if getattr(model, "leakage_temp_coeff", 0.0):
                d.cache = False  # the power depends on the temperature: no memo
        self._thermal_domains = thermal
        self.thermal: ThermalModel | None = None
        self._peak: list[float] = [spec.ambient_c] * len(thermal)
        self._t_thermal = 0.0
        self._thermal_step = math.inf
        if thermal:
            self.thermal = ThermalModel([d.name for d in thermal], [d.spec.thermal for d in thermal],  # type: ignore[union-attr]
                                        spec.coupling, spec.ambient_c)
            self._thermal_step = self.thermal.fastest_time_constant_us() / 50.0
        self._trips = any(f > 0 for d in thermal for f in d.spec.thermal.trip_mhz)  # type: ignore[union-attr]
        self._period = spec.sampling_period_us
        self._tick_pending = False
        self._changed = False
        self._throttled = 0  # thermal domains at a throttling level > 0
        #: :meth:`_hot`'s answer since the latest thermal update (it changes only there); None: not known.
        self._hot_now: bool | None = None
        self._sampled_busy = 0  # busy slots of clusters with a sampling governor
        #: No power observers: a domain without a thermal node can take its power from the memo directly.
        self._quiet = not self._on_power
        self._sampled_domains = [d for d in self.domains if d.sampled]
        self._job_energy: dict[int, float] = {}
        self._job_energies: list[float] = []
        self.start_us = 0.0
        self.end_us: float | None = None

    # ------------------------------------------------------------------ engine hooks
    def begin(self) -> None:
        """The run starts: set every domain's power and announce it."""
        now = self.env.now
        self.start_us = self._t_thermal = now
        for d in self.domains:
            d.t_last = d.opp_since = now
            self._refresh(d, now)

    def started(self, ps: PEState, slot: int, job_id: int, kernel: str, work_us: float, now: float) -> float:
        """A task starts executing ``work_us`` of nominal execution time at ``now``; returns its actual
        duration (without the launch/reconfiguration overhead the engine adds)."""
        index = ps.pe.index
        d = self._domain_of[index]
        if now > d.t_last:
            self._integrate(d, now)
        stall = d.trans_until - now if d.trans_until > now else 0.0
        mem = self._memory.get(kernel, 0.0) if self._memory else 0.0
        d.execs[index][slot] = (job_id, now, stall, work_us, mem, d.busy_acc, d.idle_acc)
        d.busy += 1
        if d.sampled:
            self._sampled_busy += 1
        self._busy_changed(d, now)
        if d.sampled and not self._tick_pending:
            self._arm()
        if d.ratio == 1.0:
            return stall + work_us
        return stall + work_us * (mem + (1.0 - mem) * d.ratio)

    def finished(self, ps: PEState, slot: int, now: float) -> None:
        """The task on ``slot`` stopped at ``now`` (finished or killed)."""
        index = ps.pe.index
        d = self._domain_of[index]
        if now > d.t_last:
            self._integrate(d, now)
        slots = d.execs[index]
        ex = slots[slot]
        if ex is None:
            return
        slots[slot] = None
        job_id = ex[0]
        energy = d.busy_acc - ex[5]
        job_energy = self._job_energy
        job_energy[job_id] = job_energy.get(job_id, 0.0) + energy
        d.pe_busy_energy[index] += energy
        d.pe_not_idle[index] += d.idle_acc - ex[6]
        d.busy -= 1
        if d.sampled:
            self._sampled_busy -= 1
        self._busy_changed(d, now)

    def _busy_changed(self, d: _Domain, now: float) -> None:
        """``d``'s busy-slot count changed at ``now``: its power from the memoised row (or recomputed),
        then the thermal nodes brought up to date when a thermal step has passed."""
        row = d.row
        if row is not None and self._quiet:
            d.busy_w, d.idle_w, d.power_w = row[d.busy]
        else:
            self._refresh(d, now)
        if d.node >= 0 and now - self._t_thermal >= self._thermal_step:
            self._thermal_sync(now)

    def pe_down(self, ps: PEState) -> None:
        """``ps`` failed (its running tasks were reported through :meth:`finished` first)."""
        d = self._set_up(ps, -ps.pe.capacity)
        d.pe_down_since[ps.pe.index] = d.idle_acc

    def pe_up(self, ps: PEState) -> None:
        """``ps`` was repaired."""
        d = self._set_up(ps, ps.pe.capacity)
        d.pe_not_idle[ps.pe.index] += ps.pe.capacity * (d.idle_acc - d.pe_down_since.pop(ps.pe.index))

    def end(self) -> None:
        """The run is over: integrate every domain up to now."""
        now = self.env.now
        self._thermal_sync(now)
        for d in self.domains:
            self._integrate(d, now)
            d.residency[d.opp] += now - d.opp_since
            d.opp_since = now
            if d.level:
                d.throttled_us += now - d.level_since
                d.level_since = now
            for index, since in d.pe_down_since.items():
                d.pe_not_idle[index] += d.pe_state[index].pe.capacity * (d.idle_acc - since)
                d.pe_down_since[index] = d.idle_acc
        self.end_us = now

    # ------------------------------------------------------------------ observer (energy per job)
    def on_job(self, record: JobRecord) -> None:
        """Close the energy account of a finished job."""
        energy = self._job_energy.pop(record.job_id, None)
        if not record.dropped:
            self._job_energies.append(energy or 0.0)

    # ------------------------------------------------------------------ queries (schedulers, agents)
    def energy_uj(self) -> float:
        """Energy drawn from the start of the run until now (uJ), without changing any state."""
        now = self.env.now
        return sum(d.energy + d.power_w * (now - d.t_last) for d in self.domains)

    def mhz(self, pe: int) -> float:
        """Current frequency of PE ``pe``'s cluster (nan: no OPPs)."""
        return self._domain_of[pe].mhz

    def exec_time(self, pe: int, kernel: str, nominal_us: float) -> float:
        """``nominal_us`` of ``kernel`` scaled to PE ``pe``'s current frequency."""
        d = self._domain_of[pe]
        mem = self._memory.get(kernel, 0.0)
        return nominal_us * (mem + (1.0 - mem) * d.ratio)

    def busy_power_w(self, pe: int) -> float:
        """Power one more busy slot of PE ``pe`` would add to its cluster now (W)."""
        d = self._domain_of[pe]
        if d.spec is None:
            return d.pes[0].pe.active_power_w - d.pes[0].pe.idle_power_w
        busy_w, idle_w = d.spec.model.slot_powers(d.table, d.opp, d.busy + 1, self._temperature(d))  # type: ignore[arg-type]
        return (d.busy + 1) * busy_w + (d.up - d.busy - 1) * idle_w - d.power_w

    # ------------------------------------------------------------------ internals
    def _temperature(self, d: _Domain) -> float | None:
        return None if d.node < 0 else d.temperature

    def _set_up(self, ps: PEState, delta: int) -> _Domain:
        now = self.env.now
        d = self._domain_of[ps.pe.index]
        self._integrate(d, now)
        d.row = None
        d.up += delta
        self._refresh(d, now)
        return d

    def _integrate(self, d: _Domain, now: float) -> None:
        """Bring ``d``'s energy, busy time and residency integrals up to ``now`` (its power was constant)."""
        dt = now - d.t_last
        if dt <= 0:
            return
        d.energy += d.power_w * dt
        d.busy_acc += d.busy_w * dt
        d.idle_acc += d.idle_w * dt
        if d.sampled:
            d.busy_time += d.busy * dt
            d.up_time += d.up * dt
        d.t_last = now

    def _thermal_sync(self, now: float) -> None:
        """Advance the thermal model to ``now`` with each node's average power since the last update,
        then re-check every thermal cluster's throttling level."""
        th = self.thermal
        dt = now - self._t_thermal
        if th is None or dt <= 0:
            return
        for d in self._thermal_domains:
            self._integrate(d, now)
            th.set_power(d.node, (d.energy - d.thermal_mark) / dt)
            d.thermal_mark = d.energy
        th.advance(dt)
        self._t_thermal = now
        for d in self._thermal_domains:
            temp = th.temperature(d.node)
            d.temperature = temp
            if temp > self._peak[d.node]:
                self._peak[d.node] = temp
            if temp >= d.trip_low or d.level:
                level = d.spec.thermal.level(temp, d.level)  # type: ignore[union-attr]
                if level != d.level:
                    if d.level:
                        d.throttled_us += now - d.level_since
                    self._throttled += (level > 0) - (d.level > 0)
                    d.level_since = now
                    d.level = level
                    d.cap = d.table.index_at_most(d.spec.thermal.cap_mhz(level)) if level else d.table.top  # type: ignore[union-attr]
                    self._apply(d, now, min(d.want, d.cap))
                    self._refresh(d, now)
            elif not d.cache:
                self._refresh(d, now)  # temperature-dependent leakage
        self._hot_now = None
        if self._trips and not self._tick_pending and self._hot():
            self._arm()

    def _refresh(self, d: _Domain, now: float) -> None:
        """Recompute ``d``'s power at its current state (integrated up to ``now``); report it."""
        temp = d.temperature
        row = d.row
        if row is None:
            row = []
            for busy in range(d.up + 1):
                if d.spec is None:
                    pe = d.pes[0].pe
                    busy_w, idle_w = pe.active_power_w, pe.idle_power_w
                else:
                    busy_w, idle_w = d.spec.model.slot_powers(d.table, d.opp, busy, None if temp != temp else temp)  # type: ignore[arg-type]
                row.append((busy_w, idle_w, busy * busy_w + (d.up - busy) * idle_w))
            if d.cache:
                d.row = row
        d.busy_w, d.idle_w, d.power_w = row[d.busy]
        if self._on_power:
            rec = PowerRecord(now, d.name, d.mhz, d.power_w, temp, d.level > 0)
            for hook in self._on_power:
                hook(rec)

    def _apply(self, d: _Domain, now: float, opp: int) -> None:
        """Move ``d`` to OPP ``opp``: rescale the running tasks and charge the transition."""
        if opp == d.opp:
            return
        old_ratio = d.ratio
        d.residency[d.opp] += now - d.opp_since
        d.opp_since = now
        d.row = None
        d.opp = opp
        d.ratio = d._ratio()
        d.transitions += 1
        self._changed = True
        stall = d.spec.transition_us if d.spec is not None else 0.0
        d.trans_until = now + stall
        for pe, slots in d.execs.items():
            for slot, ex in enumerate(slots):
                if ex is None:
                    continue
                job_id, since, fixed_left, work_left, mem, acc0, idle0 = ex
                elapsed = now - since
                fixed = min(fixed_left, elapsed)
                work_left = max(0.0, work_left - (elapsed - fixed) / (mem + (1.0 - mem) * old_ratio))
                fixed_left += stall - fixed
                slots[slot] = (job_id, now, fixed_left, work_left, mem, acc0, idle0)
                self._retime(d.pe_state[pe], slot, fixed_left + work_left * (mem + (1.0 - mem) * d.ratio))

    # ------------------------------------------------------------------ sampling
    def _hot(self) -> bool:
        """Whether some thermal node is throttled or heads for a trip at its current power (only then
        must the throttling check run periodically; below that its temperature cannot cross a trip).
        Levels and node powers change only at thermal updates, so the answer is kept until the next one."""
        hot = self._hot_now
        if hot is None:
            th = self.thermal
            hot = self._hot_now = any(
                d.level or th.ambient_c + th.steady_rise_now(d.node) >= d.trip_low  # type: ignore[union-attr]
                for d in self._thermal_domains)
        return hot

    def _arm(self) -> None:
        now = self.env.now
        nxt = (math.floor(now / self._period + 1e-9) + 1) * self._period
        self._tick_pending = True
        ev = Timeout(self.env, nxt - now)
        ev.callbacks.append(self._tick)

    def _tick(self, ev: object) -> None:
        self._tick_pending = False
        now = self.env.now
        self._changed = False
        if now - self._t_thermal >= self._thermal_step or self._trips and self._throttled:
            self._thermal_sync(now)
        for d in self._sampled_domains:  # each has a sampling governor
            if now > d.t_last:
                self._integrate(d, now)
            up = d.up_time - d.up_mark
            util = (d.busy_time - d.busy_mark) / up if up > 0 else 0.0
            d.busy_mark = d.busy_time
            d.up_mark = d.up_time
            want = d.want = d.governor.sample(d.table, d.want, util)  # type: ignore[union-attr, arg-type]
            target = want if want < d.cap else d.cap
            if target != d.opp:
                self._apply(d, now, target)
                self._refresh(d, now)
        if not self._tick_pending and (self._changed or self._sampled_busy or (self._trips and self._hot())):
            self._arm()

    # ------------------------------------------------------------------ results
    def metrics(self, jobs_completed: int, mean_latency_us: float | None) -> dict[str, Any]:
        """Energy, power, temperature and DVFS figures of the run (up to now when the run was cut short
        before the engine called :meth:`end`, e.g. by an interrupt)."""
        if self.end_us is None:
            self.end()
        end = self.end_us if self.end_us is not None else self.env.now
        span = max(0.0, end - self.start_us)
        total = sum(d.energy for d in self.domains)
        # A PE's idle energy: all its slots idle all the time, less what its tasks and down time took.
        per_pe = {ps.pe.name: d.pe_busy_energy[ps.pe.index] + ps.pe.capacity * d.idle_acc - d.pe_not_idle[ps.pe.index]
                  for d in self.domains for ps in d.pes}
        jobs = self._job_energies
        per_job = total / jobs_completed if jobs_completed else None
        out: dict[str, Any] = {
            "energy_total_uj": total,
            "energy_uj": per_pe,
            "energy_by_cluster_uj": {d.name: d.energy for d in self.domains if d.spec is not None},
            "average_power_w": total / span if span > 0 else None,
            "energy_per_job_uj": per_job,
            "task_energy_per_job_uj": sum(jobs) / len(jobs) if jobs else None,
            "edp_uj_us": per_job * mean_latency_us if per_job is not None and mean_latency_us is not None else None,
            "opp_residency": {
                d.name: {f"{p.mhz:g}": (r / span if span > 0 else 0.0) for p, r in zip(d.table.points, d.residency)}  # type: ignore[union-attr]
                for d in self.domains if d.table is not None
            },
            "opp_transitions": {d.name: d.transitions for d in self.domains if d.table is not None},
            "time_throttled_us": {d.name: d.throttled_us for d in self._thermal_domains},
            "peak_temperature_c": max(self._peak) if self._peak else None,
            "mean_temperature_c": None,
            "temperature_c": {},
        }
        th = self.thermal
        if th is not None and span > 0:
            means = [self.spec.ambient_c + th.rise_integral(d.node) / span for d in self._thermal_domains]
            out["mean_temperature_c"] = sum(means) / len(means)
            out["temperature_c"] = {d.name: {"peak": self._peak[d.node], "mean": mean, "final": th.temperature(d.node)}
                                    for d, mean in zip(self._thermal_domains, means)}
        return out
