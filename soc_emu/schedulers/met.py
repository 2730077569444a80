"""MET (minimum execution time): each ready task goes to the PE that runs its kernel fastest."""

from __future__ import annotations

import numpy as np

from soc_emu.engine.view import Assignment, SystemView
from soc_emu.model.platform import Platform
from soc_emu.schedulers.base import Scheduler
from soc_emu.schedulers.candidates import Targets, supporting_table
from soc_emu.schedulers.estimates import Availability
from soc_emu.schedulers.registry import register


@register
class MinimumExecutionTimeScheduler(Scheduler):
    """Ignores load and communication: the task's nominal time (execution + launch overhead) decides.
    Among equally fast legal PEs the one expected to be free earliest wins (then the lowest index), and
    tasks placed in the same decision count towards that estimate, so identical cores share the work."""

    name = "met"
    description = "minimum execution time PE (ties: earliest available)"

    def reset(self, platform: Platform, rng: np.random.Generator) -> None:
        super().reset(platform, rng)
        self._supporting = supporting_table(platform)
        self._cost: dict[tuple[str, int], float] = {
            (kernel, pe.index): t + pe.launch_overhead_us for pe in platform.pes for kernel, t in pe.exec_times_us.items()
        }

    def decide(self, view: SystemView) -> list[Assignment]:
        targets = Targets(view, self._supporting)
        cost = self._cost
        avail: Availability | None = None
        out: list[Assignment] = []
        for ref in view.ready:
            if targets.exhausted():
                break
            kernel = view.kernel(ref)
            legal = targets.for_kernel(kernel)
            if not legal:
                continue
            best = min(cost[kernel, pe] for pe in legal)
            fastest = [pe for pe in legal if cost[kernel, pe] == best]
            if len(fastest) == 1:
                pe = fastest[0]
            else:
                if avail is None:
                    avail = Availability(view)
                pe = min(fastest, key=lambda p: (avail.available(p), p))
            if avail is not None:
                start = max(avail.available(pe), view.now)
                avail.commit(pe, start + best)
            targets.take(pe)
            out.append(Assignment(ref, pe))
        return out
