"""The FPGA devices ``soc-emu hw implement`` targets: names, packages and capacities.

Capacities are the vendor data-sheet figures of Lattice ECP5 (LFE5U / LFE5UM / LFE5UM5G) parts as
nextpnr-ecp5 models them: LUT4s and flip-flops (two of each per slice), ``MULT18X18D`` multipliers and
``DP16KD`` 18-kbit block RAMs. They are checked against the synthesised netlist before place and route,
so a design that cannot fit fails in seconds with the utilisation that overflowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from hw.errors import HwError


@dataclass(frozen=True)
class Device:
    """One FPGA part: the nextpnr flag that selects it, its packages and its resources."""

    name: str                 # what the user types, e.g. "85k"
    family: str               # "ecp5"
    nextpnr_flag: str         # e.g. "--85k"
    packages: tuple[str, ...]
    default_package: str
    luts: int
    flip_flops: int
    multipliers: int          # MULT18X18D
    block_rams: int           # DP16KD

    def capacity(self) -> dict[str, int]:
        """Resource name -> how many the device has (the keys of :func:`hw.implement.synth` counts)."""
        return {"LUT4": self.luts, "FF": self.flip_flops, "MULT18": self.multipliers, "DP16KD": self.block_rams}


def _ecp5(name: str, luts: int, mults: int, brams: int, packages: tuple[str, ...]) -> Device:
    return Device(name=name, family="ecp5", nextpnr_flag=f"--{name}", packages=packages,
                  default_package="CABGA381", luts=luts, flip_flops=luts, multipliers=mults, block_rams=brams)


_SMALL = ("CABGA256", "CABGA381", "CSFBGA285", "TQFP144")
_LARGE = ("CABGA381", "CABGA554", "CABGA756", "CSFBGA285")
DEVICES: dict[str, Device] = {d.name: d for d in (
    _ecp5("12k", 12_288, 28, 32, _SMALL),
    _ecp5("25k", 24_288, 28, 56, _SMALL),
    _ecp5("45k", 43_848, 72, 108, _SMALL + ("CABGA554",)),
    _ecp5("85k", 83_640, 156, 208, _LARGE),
    _ecp5("um-25k", 24_288, 28, 56, _SMALL),
    _ecp5("um-45k", 43_848, 72, 108, _SMALL + ("CABGA554",)),
    _ecp5("um-85k", 83_640, 156, 208, _LARGE),
    _ecp5("um5g-25k", 24_288, 28, 56, _SMALL),
    _ecp5("um5g-45k", 43_848, 72, 108, _SMALL + ("CABGA554",)),
    _ecp5("um5g-85k", 83_640, 156, 208, _LARGE),
)}
DEFAULT_DEVICE = "85k"


def find_device(name: str, package: str | None = None) -> tuple[Device, str]:
    """The device called ``name`` and the package to use (its default when ``package`` is ``None``).

    Raises :class:`HwError` (``--device`` / ``--package``) for names the device table does not know."""
    device = DEVICES.get(name)
    if device is None:
        raise HwError(f"unknown device {name!r}; known: {', '.join(DEVICES)}", source="--device")
    chosen = package or device.default_package
    if chosen not in device.packages:
        raise HwError(f"device {name} has no package {chosen!r}; it comes in {', '.join(device.packages)}",
                      source="--package")
    return device, chosen
