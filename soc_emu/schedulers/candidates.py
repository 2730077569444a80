"""Which PEs a simple scheduler may choose for a task at a decision point.

Both bindings in one place: under ``Binding.ON_READY`` every up PE that supports the kernel is a target;
under ``Binding.LATE`` only idle PEs (``view.idle_pes()``), each for as many tasks as it has free slots.
"""

from __future__ import annotations

from soc_emu.engine.view import Binding, SystemView
from soc_emu.model.platform import Platform


class Targets:
    """Legal target PEs for one decision, consumed as assignments are made."""

    __slots__ = ("_view", "_supporting", "_free")

    def __init__(self, view: SystemView, supporting: dict[str, tuple[int, ...]]) -> None:
        self._view = view
        self._supporting = supporting
        if view.binding is Binding.LATE:
            pes = view.pes
            self._free: dict[int, int] | None = {i: pes[i].pe.capacity - pes[i].busy_slots for i in view.idle_pes()}
        else:
            self._free = None

    def for_kernel(self, kernel: str) -> list[int]:
        """Up PEs that can run ``kernel`` and may still take a task in this decision (ascending index)."""
        supporting = self._supporting.get(kernel)
        if supporting is None:
            supporting = self._supporting[kernel] = self._view.platform.pes_supporting(kernel)
        free = self._free
        pes = self._view.pes
        if free is None:
            return [i for i in supporting if not pes[i].down]
        return [i for i in supporting if free.get(i, 0) > 0]

    def has_room(self, pe: int) -> bool:
        """Whether ``pe`` may still take a task in this decision (assumes it was legal to begin with)."""
        return self._free is None or self._free.get(pe, 0) > 0

    def exhausted(self) -> bool:
        """Whether no further assignment is possible in this decision (late binding: no free slot left)."""
        return self._free is not None and not any(self._free.values())

    def take(self, pe: int) -> None:
        """Note that one task was assigned to ``pe``."""
        if self._free is not None:
            self._free[pe] -= 1


def supporting_table(platform: Platform) -> dict[str, tuple[int, ...]]:
    """Kernel -> indices of the PEs that can run it."""
    return {kernel: platform.pes_supporting(kernel) for kernel in platform.kernels}
