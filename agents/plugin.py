"""The learned scheduler's registration with the emulator: a plugin descriptor, importable without torch.

``pyproject.toml`` names :data:`DEEPSOCS` under the entry-point group ``soc_emu.schedulers``, so the
emulator's registry lists ``deepsocs`` without importing torch, and imports :mod:`agents.scheduler` only
when a run uses it.
"""

from __future__ import annotations

from soc_emu.schedulers.registry import SchedulerPlugin

DEEPSOCS = SchedulerPlugin(
    name="deepsocs",
    description="learned hierarchical graph agent (PyTorch)",
    target="agents.scheduler:DeepSoCSScheduler",
)
