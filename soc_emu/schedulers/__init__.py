"""Schedulers: the :class:`Scheduler` interface, the registry, and the built-in heuristics.

Importing this package registers every built-in scheduler module that is present (HEFT lives in its own
module and is registered once it exists). The learned agent is registered lazily by the registry.
"""

from __future__ import annotations

import importlib
import importlib.util

from soc_emu.schedulers.base import Scheduler
from soc_emu.schedulers.registry import make_scheduler, register, scheduler_class, scheduler_names

_BUILTIN_MODULES = ("random_choice", "round_robin", "met", "etf", "heft", "energy_etf", "srpt_eft", "peft", "cpsat")

for _module in _BUILTIN_MODULES:
    # Only skip modules that do not exist; an error inside an existing module must surface.
    if importlib.util.find_spec(f"{__name__}.{_module}") is not None:
        importlib.import_module(f"{__name__}.{_module}")

__all__ = ["Scheduler", "make_scheduler", "register", "scheduler_class", "scheduler_names"]
