"""MET (minimum execution time): each ready task goes to the PE that runs its kernel fastest."""

from __future__ import annotations

import numpy as np

from soc_emu.engine.view import Assignment, SystemView
from soc_emu.model.platform import Platform
from soc_emu.schedulers.base import Scheduler
from soc_emu.schedulers.candidates import Targets
from soc_emu.schedulers.estimates import Availability
from soc_emu.schedulers.registry import register


@register
class MinimumExecutionTimeScheduler(Scheduler):
    """Ignores load and communication: the task's nominal time (execution + launch overhead) decides.

    The fastest *legal* PE wins (up; under late binding, idle with a free slot). Among equally fast ones the
    one expected to be free earliest wins (then the lowest index), and tasks placed in the same decision
    count towards that estimate, so identical cores share the work.
    """

    name = "met"
    description = "minimum execution time PE (ties: earliest available)"

    def reset(self, platform: Platform, rng: np.random.Generator) -> None:
        super().reset(platform, rng)
        # Per kernel: groups of equally fast PEs, fastest group first.
        self._groups: dict[str, list[tuple[float, tuple[int, ...]]]] = {}
        for kernel in platform.kernels:
            by_cost: dict[float, list[int]] = {}
            for pe in platform.pes:
                t = pe.exec_times_us.get(kernel)
                if t is not None:
                    by_cost.setdefault(t + pe.launch_overhead_us, []).append(pe.index)
            self._groups[kernel] = [(cost, tuple(pes)) for cost, pes in sorted(by_cost.items())]
        self._supporting = {kernel: tuple(sorted(p for _, pes in groups for p in pes)) for kernel, groups in self._groups.items()}

    def decide(self, view: SystemView) -> list[Assignment]:
        targets = Targets(view, self._supporting)
        states = view.pes
        groups = self._groups
        avail: Availability | None = None
        out: list[Assignment] = []
        for ref in view.ready:
            if targets.exhausted():
                break
            for cost, pes in groups[view.kernel(ref)]:
                fastest = [pe for pe in pes if not states[pe].down and targets.has_room(pe)]
                if fastest:
                    break
            else:
                continue
            if len(fastest) == 1:
                pe = fastest[0]
            else:
                if avail is None:
                    avail = Availability(view)
                pe = min(fastest, key=lambda p: (avail.available(p), p))
            if avail is not None:
                avail.commit(pe, avail.available(pe) + cost)
            targets.take(pe)
            out.append(Assignment(ref, pe))
        return out
