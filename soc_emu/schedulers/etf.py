"""ETF (earliest time first) and EFT (earliest finish time) list schedulers.

Both estimate, for a ready task on a PE, ``start = max(PE slot free, inputs on that PE)`` and
``finish = start + nominal cost`` with :mod:`soc_emu.schedulers.estimates`, accounting for transfers
(:meth:`SystemView.data_ready_time`) and for the tasks each already placed in the same decision.

* ``etf`` repeatedly picks, among *all* ready tasks and their legal PEs, the pair that finishes earliest.
* ``eft`` takes the ready tasks in the order they became ready and gives each its earliest-finish PE.

Ties go to the earlier ready task, then the lower PE index.
"""

from __future__ import annotations

import numpy as np

from soc_emu.engine.view import Assignment, SystemView, TaskRef
from soc_emu.model.platform import Platform
from soc_emu.schedulers.base import Scheduler
from soc_emu.schedulers.candidates import Targets, supporting_table
from soc_emu.schedulers.estimates import Availability, data_ready_times, task_cost
from soc_emu.schedulers.registry import register


def _options(view: SystemView, targets: Targets, ref: TaskRef) -> list[tuple[int, float, float]]:
    """``(pe, data ready, nominal cost)`` for each legal PE of ``ref``."""
    kernel = view.kernel(ref)
    pes = targets.for_kernel(kernel)
    ready = data_ready_times(view, ref, pes)
    states = view.pes
    return [(pe, r, task_cost(states[pe].pe, kernel, states[pe].loaded_kernel)) for pe, r in zip(pes, ready)]


class _ListScheduler(Scheduler):
    def reset(self, platform: Platform, rng: np.random.Generator) -> None:
        super().reset(platform, rng)
        self._supporting = supporting_table(platform)


@register
class EarliestTimeFirstScheduler(_ListScheduler):
    """Global earliest-finish (task, PE) pair first, repeated until every ready task is placed."""

    name = "etf"
    description = "earliest finishing (ready task, PE) pair first, transfer- and load-aware"

    def decide(self, view: SystemView) -> list[Assignment]:
        targets = Targets(view, self._supporting)
        slots = Availability(view).slots
        pending = [(ref, _options(view, targets, ref)) for ref in view.ready]
        out: list[Assignment] = []
        while pending and not targets.exhausted():
            best_finish = 0.0
            best: tuple[int, int] | None = None
            for i, (_, options) in enumerate(pending):
                for pe, ready, cost in options:
                    free = slots(pe)[0]
                    finish = (ready if ready > free else free) + cost
                    if (best is None or finish < best_finish) and targets.has_room(pe):
                        best_finish = finish
                        best = (i, pe)
            if best is None:
                break
            i, pe = best
            ref = pending.pop(i)[0]
            Availability.commit_to(slots(pe), best_finish)
            targets.take(pe)
            out.append(Assignment(ref, pe))
        return out


@register
class EarliestFinishTimeScheduler(_ListScheduler):
    """Ready tasks in ready order, each to its earliest-finish PE."""

    name = "eft"
    description = "each ready task, in ready order, to its earliest-finish PE"

    def decide(self, view: SystemView) -> list[Assignment]:
        targets = Targets(view, self._supporting)
        slots = Availability(view).slots
        out: list[Assignment] = []
        for ref in view.ready:
            if targets.exhausted():
                break
            best_finish = 0.0
            best = -1
            for pe, ready, cost in _options(view, targets, ref):
                free = slots(pe)[0]
                finish = (ready if ready > free else free) + cost
                if best < 0 or finish < best_finish:
                    best_finish = finish
                    best = pe
            if best < 0:
                continue
            Availability.commit_to(slots(best), best_finish)
            targets.take(best)
            out.append(Assignment(ref, best))
        return out
