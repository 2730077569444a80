"""Shared set-up of the hardware tests.

Tests marked ``@pytest.mark.hw`` (cocotb under Verilator) are skipped, with the reason, when no
Verilator >= 5.036 is found; everything else (Amaranth-simulator tests) always runs.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    hw_items = [item for item in items if item.get_closest_marker("hw") is not None]
    if not hw_items:
        return
    from hw.errors import HwError
    from hw.sim.toolchain import find_verilator

    try:
        find_verilator()
    except HwError as exc:
        skip = pytest.mark.skip(reason=str(exc))
        for item in hw_items:
            item.add_marker(skip)
