"""Simulation and synthesis tooling for the hw generator: Verilator discovery, cached Amaranth to
Verilog conversion, a cocotb runner wrapper, Yosys resource estimates and Amaranth-simulator stream
helpers. Heavy imports (cocotb, amaranth) happen inside the submodules, not here."""
