"""The :class:`Scheduler` base class every scheduler implements (heuristics, HEFT, the learned agent)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from soc_emu.engine.view import Assignment, Binding, SystemView
from soc_emu.model.platform import Platform


class Scheduler(ABC):
    """Maps ready tasks onto PEs at decision points.

    Subclasses set :attr:`name` (the registry key), may change :attr:`default_binding` and
    :attr:`dispatch_order`, and implement
    :meth:`decide`. :meth:`reset` is called once before a run with the platform and the run's random
    generator (the only randomness a scheduler may use).
    """

    name: ClassVar[str] = ""
    default_binding: ClassVar[Binding] = Binding.ON_READY
    #: How a PE's queue is served. ``"first_ready"`` (DS3): a free slot starts the lowest-priority queued
    #: task whose inputs have arrived. ``"in_order"`` (DS3's dynamic dependencies, used by HEFT): a free
    #: slot takes the lowest-priority queued task and waits for its inputs, so a plan runs as planned.
    dispatch_order: ClassVar[str] = "first_ready"
    description: ClassVar[str] = ""
    #: Whether ``soc-emu compare`` runs this scheduler when no ``--schedulers`` are given. A scheduler
    #: that only makes sense for static single-DAG problems (e.g. an exact solver) sets it to ``False``.
    in_default_comparison: ClassVar[bool] = True

    def __init__(self, *, binding: Binding | None = None) -> None:
        self.binding = binding if binding is not None else self.default_binding
        self.rng: np.random.Generator = np.random.default_rng(0)
        self.platform: Platform | None = None

    def reset(self, platform: Platform, rng: np.random.Generator) -> None:
        """Prepare for a new run on ``platform``; keep ``rng`` for any random choice."""
        self.platform = platform
        self.rng = rng

    @abstractmethod
    def decide(self, view: SystemView) -> list[Assignment]:
        """Assign ready tasks (``view.ready``) to PEs. See :mod:`soc_emu.engine.view` for the rules."""
