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
from soc_emu.schedulers.estimates import Availability
from soc_emu.schedulers.registry import register


@register
class EarliestTimeFirstScheduler(Scheduler):
    """Global earliest-finish (task, PE) pair first, repeated until every ready task is placed."""

    name = "etf"
    description = "earliest finishing (ready task, PE) pair first, transfer- and load-aware"

    def reset(self, platform: Platform, rng: np.random.Generator) -> None:
        super().reset(platform, rng)
        self._supporting = supporting_table(platform)

    def decide(self, view: SystemView) -> list[Assignment]:
        targets = Targets(view, self._supporting)
        avail = Availability(view)
        pending: list[tuple[TaskRef, str, dict[int, float]]] = []
        for ref in view.ready:
            kernel = view.kernel(ref)
            pending.append((ref, kernel, {}))
        out: list[Assignment] = []
        while pending and not targets.exhausted():
            best: tuple[float, int, int] | None = None
            for i, (ref, kernel, data_ready) in enumerate(pending):
                for pe in targets.for_kernel(kernel):
                    ready = data_ready.get(pe)
                    if ready is None:
                        ready = data_ready[pe] = view.data_ready_time(ref, pe)
                    finish = avail.earliest_finish(ref, pe, ready)[1]
                    if best is None or finish < best[0]:
                        best = (finish, i, pe)
            if best is None:
                break
            finish, i, pe = best
            ref = pending.pop(i)[0]
            avail.commit(pe, finish)
            targets.take(pe)
            out.append(Assignment(ref, pe))
        return out


@register
class EarliestFinishTimeScheduler(Scheduler):
    """Ready tasks in ready order, each to its earliest-finish PE."""

    name = "eft"
    description = "each ready task, in ready order, to its earliest-finish PE"

    def reset(self, platform: Platform, rng: np.random.Generator) -> None:
        super().reset(platform, rng)
        self._supporting = supporting_table(platform)

    def decide(self, view: SystemView) -> list[Assignment]:
        targets = Targets(view, self._supporting)
        avail = Availability(view)
        out: list[Assignment] = []
        for ref in view.ready:
            if targets.exhausted():
                break
            best: tuple[float, int] | None = None
            for pe in targets.for_kernel(view.kernel(ref)):
                finish = avail.earliest_finish(ref, pe)[1]
                if best is None or finish < best[0]:
                    best = (finish, pe)
            if best is None:
                continue
            avail.commit(best[1], best[0])
            targets.take(best[1])
            out.append(Assignment(ref, best[1]))
        return out
