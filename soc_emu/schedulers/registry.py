"""Scheduler registry: names to classes. The engine never branches on a scheduler's name.

Built-in schedulers register themselves when :mod:`soc_emu.schedulers` is imported. Schedulers that live
in other packages (the learned agent in ``agents/`` needs torch) are plugins: an installed distribution
names a :class:`SchedulerPlugin` under the entry-point group :data:`ENTRY_POINT_GROUP` (this project's
``pyproject.toml`` does so for ``deepsocs``). A plugin's descriptor is cheap to load; its class is imported
only when the scheduler is used, so ``soc-emu run --scheduler heft`` never imports torch, and the
emulator core names no outside package.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from soc_emu.errors import SocEmuError
from soc_emu.schedulers.base import Scheduler

#: Entry-point group of scheduler plugins (each entry point names a :class:`SchedulerPlugin`).
ENTRY_POINT_GROUP = "soc_emu.schedulers"

_BUILTIN: dict[str, type[Scheduler]] = {}


@dataclass(frozen=True)
class SchedulerPlugin:
    """A scheduler provided by another package: its name, a one-line description, and where its class
    lives (``"module:Class"``, imported by :meth:`load` only when the scheduler is used)."""

    name: str
    description: str
    target: str

    def load(self) -> type[Scheduler]:
        """The scheduler class (imports its module)."""
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


def plugins() -> dict[str, SchedulerPlugin]:
    """The scheduler plugins of the installed distributions, by name (descriptors only: cheap)."""
    found: dict[str, SchedulerPlugin] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            plugin = point.load()
        except ImportError:  # a plugin whose package is not importable is not offered
            continue
        if isinstance(plugin, SchedulerPlugin):
            found[plugin.name] = plugin
    return found


def register(cls: type[Scheduler]) -> type[Scheduler]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a non-empty 'name'")
    if cls.name in _BUILTIN and _BUILTIN[cls.name] is not cls:
        raise TypeError(f"scheduler name {cls.name!r} is already taken by {_BUILTIN[cls.name].__name__}")
    _BUILTIN[cls.name] = cls
    return cls


def scheduler_names() -> dict[str, str]:
    """Every scheduler name with a one-line description, built-in and plugins."""
    names = {name: plugin.description for name, plugin in plugins().items()}
    names.update({name: cls.description for name, cls in _BUILTIN.items()})
    return dict(sorted(names.items()))


def scheduler_class(name: str) -> type[Scheduler]:
    """The class registered as ``name`` (a plugin's class is imported on demand)."""
    if name in _BUILTIN:
        return _BUILTIN[name]
    plugin = plugins().get(name)
    if plugin is not None:
        return plugin.load()
    known = ", ".join(scheduler_names())
    raise SocEmuError(f"unknown scheduler {name!r}; known: {known}", source="--scheduler")


def default_comparison_names() -> list[str]:
    """Names of the schedulers ``soc-emu compare`` runs by default: every registered scheduler whose class
    has ``in_default_comparison`` set (plugins are imported to read it; one whose package is not
    installed is left out)."""
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
