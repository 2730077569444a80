"""Power, DVFS and thermal model of the emulator.

Plain data (:mod:`~soc_emu.power.opp`, :mod:`~soc_emu.power.model`, :mod:`~soc_emu.power.thermal`), the
governors (:mod:`~soc_emu.power.governors`) and the run-time driver the engine calls at a few points
(:mod:`~soc_emu.power.driver`). A platform without power data has ``Platform.power is None`` and the
engine never creates a driver, so such runs are exactly what they were before this package existed.

Units: time in microseconds, power in watts, energy in microjoules (W x us), temperature in degrees
Celsius, frequency in MHz, voltage in mV.
"""

from __future__ import annotations

from soc_emu.power.governors import GOVERNORS, GovernorSpec, governor_names
from soc_emu.power.model import ClusterPower, CmosPower, PowerSpec, ProfilePower
from soc_emu.power.opp import OperatingPoint, OppTable
from soc_emu.power.thermal import ThermalModel, ThermalParams

__all__ = [
    "GOVERNORS",
    "ClusterPower",
    "CmosPower",
    "GovernorSpec",
    "OperatingPoint",
    "OppTable",
    "PowerSpec",
    "ProfilePower",
    "ThermalModel",
    "ThermalParams",
    "governor_names",
]
