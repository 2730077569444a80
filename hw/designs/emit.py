"""Verilog emission of a planned design, with a simulation-time hook to load the off-chip image.

The off-chip image (weights and inputs) changes with every test input, but the circuit does not. So the
Verilog is generated once per plan, and the memory model gets a simulation-only hook: while the
``load_image`` input is high at a clock edge, ``$readmemh("offchip_image.hex")`` (relative to the
simulator's working directory) reloads the whole image. A testbench writes the file, pulses
``load_image``, resets and starts the design, for as many inputs as it likes in one simulation.
Sources are converted with ``emit_src=False`` (no absolute paths in the output).
"""

from __future__ import annotations

import re

from hw.designs.accelerator import Accelerator
from hw.planner.plan import DesignPlan

IMAGE_MEMORY = "offchip_image"
IMAGE_FILE = "offchip_image.hex"


def add_image_loader(verilog: str) -> str:
    """Replace the image memory's generated initial contents by the ``$readmemh`` reload hook."""
    declaration = re.compile(rf"^\s*reg \[\d+:0\] {IMAGE_MEMORY} \[\d+:0\];$", re.MULTILINE)
    match = declaration.search(verilog)
    if match is None:
        raise RuntimeError("off-chip image memory not found in the generated Verilog")
    init_block = re.compile(rf"  initial begin\n(?:    {IMAGE_MEMORY}\[\d+\] = [^;]+;\n)+  end\n")
    head, tail = verilog[:match.end()], verilog[match.end():]
    tail = init_block.sub("", tail, count=1)
    end = tail.index("endmodule")
    hook = (
        "  // Simulation only: reload the off-chip image from a hex file while load_image is high.\n"
        "  always @(posedge clk) begin\n"
        f"    if (load_image) $readmemh(\"{IMAGE_FILE}\", {IMAGE_MEMORY});\n"
        "  end\n"
    )
    return head + tail[:end] + hook + tail[end:]


def design_verilog(plan: DesignPlan, *, name: str = "top") -> str:
    """Verilog text of the accelerator for ``plan`` (top module ``name``)."""
    from amaranth.back import verilog

    text = verilog.convert(Accelerator(plan), name=name, emit_src=False)
    return add_image_loader(text)


def image_hex(lines: list[int], line_bits: int) -> str:
    """``$readmemh`` text of the image lines."""
    digits = (line_bits + 3) // 4
    return "\n".join(f"{value:0{digits}x}" for value in lines) + "\n"
