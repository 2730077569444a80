"""Whether a platform can run a workload at all: every task's kernel must have some PE."""

from __future__ import annotations

from soc_emu.errors import SocEmuError
from soc_emu.model.platform import Platform
from soc_emu.model.workload import Workload


def check_compatible(platform: Platform, workload: Workload) -> None:
    """Raise :class:`SocEmuError` naming the app, task and kernel of the first task no PE can run."""
    kernels = platform.kernels
    for graph in workload.mix.graphs:
        for task in graph.tasks:
            if task.kernel not in kernels:
                raise SocEmuError(
                    f"application {graph.name!r}, task {task.name!r}: kernel {task.kernel!r} runs on no PE of "
                    f"platform {platform.name!r}",
                    source=graph.source or graph.name,
                )
