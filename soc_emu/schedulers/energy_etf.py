"""Energy-aware ETF: each (ready task, PE) pair is scored by a weighted energy-delay cost.

For a ready task on a legal PE the shared estimates (:mod:`soc_emu.schedulers.estimates`) give the
finish time at the nominal frequency; on a platform with power data the execution part is rescaled to the
PE's current frequency and the energy is what one more busy slot adds to the PE's cluster power now
(:meth:`~soc_emu.power.driver.PowerDriver.busy_power_w`) times that execution time. Without power data the
energy is ``(active_power_w - idle_power_w) x slot time``. The cost of a pair is::

    (1 - w) x (finish - now) / best (finish - now)  +  w x energy / best energy

with both terms normalised by the task's best PE, and ``w = energy_weight`` (0: plain ETF, 1: least
energy). Like ETF it repeatedly commits the cheapest pair over all ready tasks, so later tasks of the same
decision see the earlier ones' load. It chooses PEs only; the OPP stays the governor's.
"""

from __future__ import annotations

import math

from soc_emu.engine.view import Assignment, SystemView, TaskRef
from soc_emu.errors import SocEmuError
from soc_emu.schedulers.candidates import Targets
from soc_emu.schedulers.estimates import Availability, data_ready_times, task_cost
from soc_emu.schedulers.etf import _ListScheduler
from soc_emu.schedulers.registry import register


def task_energy_uj(view: SystemView, pe: int, kernel: str, slot_us: float) -> tuple[float, float]:
    """``(slot time at the current frequency, energy it adds)`` of ``kernel`` on PE ``pe`` taking
    ``slot_us`` at the nominal frequency (the launch/reconfiguration overhead does not scale)."""
    state = view.pes[pe].pe
    power = view.power
    if power is None:
        return slot_us, (state.active_power_w - state.idle_power_w) * slot_us
    nominal = state.exec_times_us[kernel]
    scaled = slot_us - nominal + power.exec_time(pe, kernel, nominal)
    return scaled, power.busy_power_w(pe) * scaled


@register
class EnergyAwareETFScheduler(_ListScheduler):
    """ETF whose pair choice weighs estimated energy against finish time (see the module docstring)."""

    name = "energy_etf"
    description = "ETF trading finish time for energy by a weighted, normalised energy-delay cost"

    def __init__(self, *, energy_weight: float = 0.5, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        if not (isinstance(energy_weight, (int, float)) and 0 <= energy_weight <= 1):
            raise SocEmuError(f"energy_weight must be in [0, 1], got {energy_weight!r}", source="--scheduler-option")
        self.energy_weight = float(energy_weight)

    def decide(self, view: SystemView) -> list[Assignment]:
        targets = Targets(view, self._supporting)
        slots = Availability(view).slots
        now = view.now
        w = self.energy_weight
        pending: list[tuple[TaskRef, list[tuple[int, float, float, float]]]] = []
        for ref in view.ready:
            kernel = view.kernel(ref)
            pes = targets.for_kernel(kernel)
            options = []
            for pe, ready in zip(pes, data_ready_times(view, ref, pes)):
                state = view.pes[pe]
                cost, energy = task_energy_uj(view, pe, kernel, task_cost(state.pe, kernel, state.loaded_kernel))
                options.append((pe, ready, cost, energy))
            pending.append((ref, options))
        out: list[Assignment] = []
        while pending and not targets.exhausted():
            best_score = math.inf
            best: tuple[int, int, float] | None = None
            for i, (_, options) in enumerate(pending):
                finishes = []
                for pe, ready, cost, energy in options:
                    free = slots(pe)[0]
                    finishes.append((ready if ready > free else free) + cost)
                delay0 = min((f - now for f in finishes), default=math.inf)
                energy0 = min((o[3] for o in options), default=math.inf)
                for (pe, _, _, energy), finish in zip(options, finishes):
                    if not targets.has_room(pe) or finish == math.inf:
                        continue
                    delay = (finish - now) / delay0 if delay0 > 0 else 1.0
                    spent = energy / energy0 if energy0 > 0 else 1.0
                    score = (1 - w) * delay + w * spent
                    if score < best_score:
                        best_score = score
                        best = (i, pe, finish)
            if best is None:
                break
            i, pe, finish = best
            ref = pending.pop(i)[0]
            Availability.commit_to(slots(pe), finish)
            targets.take(pe)
            out.append(Assignment(ref, pe))
        return out
