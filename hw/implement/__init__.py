"""Implementation on a real FPGA: synthesis (Yosys ``synth_ecp5``), fit check, place and route
(nextpnr-ecp5, out of context) and the achieved Fmax, critical path and utilisation of every core.

- :mod:`hw.implement.devices`: the device table (``--device``/``--package``) and capacities;
- :mod:`hw.implement.tools`: finding and running the YoWASP tools, quoting their errors;
- :mod:`hw.implement.synth`: synthesis and the netlist's resources against a device;
- :mod:`hw.implement.place_route`: nextpnr and its ``--report`` JSON;
- :mod:`hw.implement.flow`: per-core and per-design implementation, cached on disk.
"""

from hw.implement.devices import DEFAULT_DEVICE, DEVICES, find_device
from hw.implement.flow import DEFAULT_TARGET_MHZ, CoreImplementation, implement_core, implement_design

__all__ = ["DEFAULT_DEVICE", "DEFAULT_TARGET_MHZ", "DEVICES", "CoreImplementation", "find_device",
           "implement_core", "implement_design"]
