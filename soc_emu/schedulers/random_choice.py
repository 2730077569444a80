"""Random mapping: each ready task goes to a uniformly chosen PE that can run it (a baseline)."""

from __future__ import annotations

import numpy as np

from soc_emu.engine.view import Assignment, SystemView
from soc_emu.model.platform import Platform
from soc_emu.schedulers.base import Scheduler
from soc_emu.schedulers.candidates import Targets, supporting_table
from soc_emu.schedulers.registry import register


@register
class RandomScheduler(Scheduler):
    """Picks, for every ready task, a random legal PE (up, supports the kernel; idle under late binding)
    using only the run's scheduler generator, so runs are reproducible."""

    name = "random"
    description = "random PE among those that can run the task"

    def reset(self, platform: Platform, rng: np.random.Generator) -> None:
        super().reset(platform, rng)
        self._supporting = supporting_table(platform)

    def decide(self, view: SystemView) -> list[Assignment]:
        targets = Targets(view, self._supporting)
        out: list[Assignment] = []
        for ref in view.ready:
            if targets.exhausted():
                break
            options = targets.for_kernel(view.kernel(ref))
            if not options:
                continue
            pe = options[int(self.rng.integers(len(options)))] if len(options) > 1 else options[0]
            targets.take(pe)
            out.append(Assignment(ref, pe))
        return out
