"""Round-robin mapping: the PEs that can run a kernel take its tasks in turn."""

from __future__ import annotations

import numpy as np

from soc_emu.engine.view import Assignment, SystemView
from soc_emu.model.platform import Platform
from soc_emu.schedulers.base import Scheduler
from soc_emu.schedulers.candidates import Targets, supporting_table
from soc_emu.schedulers.registry import register


@register
class RoundRobinScheduler(Scheduler):
    """Keeps one turn pointer per kernel over the PEs that support it; a task goes to the next legal PE
    from the pointer on (down PEs, and under late binding busy ones, are skipped)."""

    name = "round_robin"
    description = "cycles through the PEs that can run each kernel"

    def reset(self, platform: Platform, rng: np.random.Generator) -> None:
        super().reset(platform, rng)
        self._supporting = supporting_table(platform)
        self._turn: dict[str, int] = {}

    def decide(self, view: SystemView) -> list[Assignment]:
        targets = Targets(view, self._supporting)
        out: list[Assignment] = []
        for ref in view.ready:
            if targets.exhausted():
                break
            kernel = view.kernel(ref)
            legal = targets.for_kernel(kernel)
            if not legal:
                continue
            order = self._supporting[kernel]
            turn = self._turn.get(kernel, 0)
            allowed = set(legal)
            for step in range(len(order)):
                k = (turn + step) % len(order)
                if order[k] in allowed:
                    pe = order[k]
                    self._turn[kernel] = k + 1
                    break
            targets.take(pe)
            out.append(Assignment(ref, pe))
        return out
