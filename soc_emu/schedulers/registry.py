"""Scheduler registry: names to classes. The engine never branches on a scheduler's name.

Built-in schedulers register themselves when :mod:`soc_emu.schedulers` is imported. Schedulers that live
in heavier packages (the learned agent needs torch) are registered by import path and loaded only when
asked for, so ``soc-emu run --scheduler heft`` never imports torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from soc_emu.errors import SocEmuError
from soc_emu.schedulers.base import Scheduler

_LAZY: dict[str, tuple[str, str, str]] = {
    # name: (module, class, one-line description)
    "deepsocs": ("agents.scheduler", "DeepSoCSScheduler", "learned hierarchical graph agent (PyTorch)"),
}
_BUILTIN: dict[str, type[Scheduler]] = {}


def register(cls: type[Scheduler]) -> type[Scheduler]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a non-empty 'name'")
    if cls.name in _BUILTIN and _BUILTIN[cls.name] is not cls:
        raise TypeError(f"scheduler name {cls.name!r} is already taken by {_BUILTIN[cls.name].__name__}")
    _BUILTIN[cls.name] = cls
    return cls


def scheduler_names() -> dict[str, str]:
    """Every scheduler name with a one-line description, built-in and lazily loaded."""
    names = {name: cls.description for name, cls in _BUILTIN.items()}
    names.update({name: desc for name, (_, _, desc) in _LAZY.items()})
    return dict(sorted(names.items()))


def scheduler_class(name: str) -> type[Scheduler]:
    """The class registered as ``name`` (imports lazily registered ones on demand)."""
    if name in _BUILTIN:
        return _BUILTIN[name]
    if name in _LAZY:
        module, attr, _ = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    known = ", ".join(scheduler_names())
    raise SocEmuError(f"unknown scheduler {name!r}; known: {known}", source="--scheduler")


def default_comparison_names() -> list[str]:
    """Names of the schedulers ``soc-emu compare`` runs by default: every registered scheduler whose class
    has ``in_default_comparison`` set (lazily registered ones are imported to read it; one whose package
    is not installed is left out)."""
    names = []
    for name in scheduler_names():
        try:
            cls = scheduler_class(name)
        except ModuleNotFoundError:
            continue
        if cls.in_default_comparison:
            names.append(name)
    return names


def make_scheduler(name: str, **options: Any) -> Scheduler:
    """Instantiate the scheduler registered as ``name`` with keyword ``options``."""
    return scheduler_class(name)(**options)
