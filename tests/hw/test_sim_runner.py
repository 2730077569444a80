"""The cocotb/Verilator infrastructure end to end: OffchipMemory built once under Verilator, a passing
cocotb test, a failing one surfacing as CocotbFailure, and build reuse."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hw.blocks import OffchipMemory
from hw.sim.convert import verilog_for

pytestmark = pytest.mark.hw       # skipped by tests/hw/conftest.py when Verilator is missing

COCOTB_MODULE = Path(__file__).parent / "cocotb_tests" / "blocks_offchip_memory.py"
PARAMS = {
    "word_bits": 16, "words_per_cycle": 2, "depth": 48, "read_latency": 5, "write_latency": 2,
    "regions": [[0, 16], [16, 40]],
    "init": np.random.default_rng(21).integers(-(1 << 15), 1 << 15, size=90).tolist(),
}


def _run(testcase: str, **extra_env: str):
    from hw.sim.runner import run_cocotb

    verilog = verilog_for(OffchipMemory, PARAMS, name="offchip")
    return run_cocotb("offchip_memory", PARAMS, verilog, "offchip", COCOTB_MODULE, [testcase], seed=5,
                      extra_env={"OFFCHIP_CONFIG": json.dumps(PARAMS), **extra_env}, hdl_clock_ns=10)


def test_offchip_memory_passes_under_verilator_and_failures_surface() -> None:
    from hw.sim.runner import CocotbFailure

    result = _run("read_bursts_under_random_backpressure")
    assert result.passed, result.summary()
    assert [t.name for t in result.tests] == ["read_bursts_under_random_backpressure"]
    assert result.tests[0].sim_time_ns > 0
    assert (result.build_dir / "build_stamp.json").is_file()

    # Same Verilog and arguments: the simulator is reused, and a failing cocotb test raises.
    with pytest.raises(CocotbFailure) as info:
        _run("deliberate_failure_probe", OFFCHIP_PROBE_FAILURE="1")
    assert info.value.result.built is False
    assert "FAIL deliberate_failure_probe" in str(info.value)
