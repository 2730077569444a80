"""Cached Amaranth -> Verilog conversion, the HDL-clock wrapper generator, Verilator lint of every block."""

from __future__ import annotations

import pytest

from hw.blocks import (ElementwiseAdd, ElementwiseMul, GeLU, MaxPool2x2, OffchipMemory, ReLU, SiLU, Softmax,
                       StreamFifo, Upsample2x)
from hw.sim.convert import params_digest, verilog_for
from hw.sim.hdl_clock import hdl_clock_wrapper, top_ports
from hw.sim.toolchain import verilator_lint


def test_verilog_is_cached_per_parameters_and_has_no_source_paths() -> None:
    first = verilog_for(ReLU, {"bits": 8, "width": 2}, name="relu")
    stamp = first.stat().st_mtime_ns
    again = verilog_for(ReLU, {"width": 2, "bits": 8}, name="relu")     # key order does not matter
    other = verilog_for(ReLU, {"bits": 16, "width": 2}, name="relu")
    assert again == first and first.stat().st_mtime_ns == stamp        # served from the cache
    assert other != first
    text = first.read_text()
    assert "module relu(" in text and "src =" not in text and "/work" not in text
    assert "input [15:0] i__payload;" in text


def test_params_digest_is_stable_and_order_free() -> None:
    assert params_digest({"a": 1, "b": [1, 2]}) == params_digest({"b": [1, 2], "a": 1})
    assert params_digest({"a": 1}) != params_digest({"a": 2})


def test_hdl_clock_wrapper_keeps_every_port_but_clk() -> None:
    text = verilog_for(ElementwiseAdd, {"bits": 8, "width": 2}, name="adder").read_text()
    ports = top_ports(text, "adder")
    assert ("input", "[15:0]", "a__payload") in ports and ("input", "", "clk") in ports
    name, wrapper = hdl_clock_wrapper(text, "adder", period_ns=4)
    assert name == "adder_hdlclk"
    assert "always #(2) clk = ~clk;" in wrapper
    assert "  input [15:0] a__payload;" in wrapper and "  output o__valid;" in wrapper
    assert "input clk" not in wrapper
    assert ".clk(clk)" in wrapper and ".o__payload(o__payload)" in wrapper


@pytest.mark.hw
@pytest.mark.parametrize("block,params", [
    (ReLU, {"bits": 8, "width": 2}), (GeLU, {"bits": 16, "width": 2, "frac_bits": 8}),
    (SiLU, {"bits": 8, "width": 2, "frac_bits": 4}), (ElementwiseAdd, {"bits": 8, "width": 2}),
    (ElementwiseMul, {"bits": 16, "width": 2, "shift": 8}), (MaxPool2x2, {"bits": 8, "width": 2, "cols": 4}),
    (Upsample2x, {"bits": 8, "width": 2, "cols": 3}),
    (Softmax, {"bits": 8, "width": 2, "row_len": 8, "in_frac_bits": 4}), (StreamFifo, {"shape": 16, "depth": 4}),
    (OffchipMemory, {"word_bits": 8, "depth": 8, "regions": [(0, 4)], "init": [1, -2, 3]})])
def test_every_block_lints_under_verilator(block, params) -> None:
    assert verilator_lint(verilog_for(block, params, name="top"), "top") == []


@pytest.mark.hw
def test_lint_reports_errors(tmp_path) -> None:
    broken = tmp_path / "broken.v"
    broken.write_text("module top(input a, output b); assign b = c; endmodule\n")
    errors = verilator_lint(broken, "top")
    assert errors and "c" in errors[0]
