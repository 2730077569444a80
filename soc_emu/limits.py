"""The documented range of every number soc-emu reads from a file or a flag.

A value outside its range is a user error: one line naming the file, field or flag and the range
(``hetero.toml: pe_group[0].capacity: expected an integer in [1, 256], got 100000000``). The ranges are
what one run on a workstation can honour: finite, small enough that no sum of them overflows a float or
freezes the simulated clock, and small enough that memory and time stay proportionate (the link table
is quadratic in the number of PEs; the engine allocates per slot).

The table (:data:`LIMITS`) is the one place these numbers live; the README prints it, and
:func:`limits_table` renders it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from soc_emu.errors import SocEmuError


@dataclass(frozen=True)
class Range:
    """An allowed interval ``[low, high]`` (``(low, high]`` when ``low_open``) for one kind of number.

    ``integer`` ranges accept only whole numbers (not booleans); ``inf_ok`` ranges also accept ``inf``
    (free transfers). NaN is never accepted.
    """

    low: float
    high: float
    unit: str = ""
    integer: bool = False
    low_open: bool = False
    inf_ok: bool = False

    def describe(self) -> str:
        """``"a number in (0, 1e+12] us"`` / ``"an integer in [1, 1024]"``."""
        what = "an integer" if self.integer else "a number"
        left = "(" if self.low_open else "["
        unit = f" {self.unit}" if self.unit else ""
        extra = " or inf" if self.inf_ok else ""
        return f"{what} in {left}{format_bound(self.low)}, {format_bound(self.high)}]{unit}{extra}"

    def contains(self, value: float) -> bool:
        """Whether ``value`` (already a Python number) lies in the range."""
        if value != value:  # nan
            return False
        if self.inf_ok and value == math.inf:
            return True
        above = value > self.low if self.low_open else value >= self.low
        return above and value <= self.high

    def check(self, value: object, where: str) -> float:
        """``value`` as a float (int for integer ranges) when it is a number in range; else a
        :class:`SocEmuError` naming ``where`` and the range. Never raises anything else (huge integers
        that do not fit a float are out of range, not an OverflowError)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SocEmuError(f"expected {self.describe()}, got {_shown(value)}", source=where)
        if self.integer and not isinstance(value, int):
            raise SocEmuError(f"expected {self.describe()}, got {_shown(value)}", source=where)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf if value > 0 else -math.inf  # type: ignore[operator]
        if not self.contains(number) or (self.integer and not -math.inf < number < math.inf):
            raise SocEmuError(f"expected {self.describe()}, got {_shown(value)}", source=where)
        return int(value) if self.integer else number  # type: ignore[arg-type]

    def parse(self, text: str, where: str) -> float:
        """A number from a string (flag values, DS3 tokens), then :meth:`check`."""
        text = text.strip()
        try:
            value: float = int(text) if self.integer else float(text)
            return self.check(value, where)
        except (ValueError, OverflowError, SocEmuError):
            raise SocEmuError(f"expected {self.describe()}, got {_shown(text)}", source=where) from None


def format_bound(x: float) -> str:
    """A range bound as people write it: ``256``, ``1e12``, ``1e-6``."""
    if float(x).is_integer():
        whole = str(int(x))
        if abs(x) < 1e5 or not whole.endswith("00000"):
            return whole
    mantissa, _, exponent = f"{x:g}".partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


def _shown(value: object) -> str:
    """A value as the user wrote it, shortened (a 400-digit number must not fill the terminal)."""
    text = f'"{value}"' if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text)} characters)"


MAX_TIME_US = 1e12  #: about 11.6 days of simulated time
#: Any duration in microseconds: execution, latency, overheads, deadlines, trace times, run duration.
TIME_US = Range(0.0, MAX_TIME_US, "us")
#: A duration that must be > 0 (deadlines, run durations, mean times between failures and repairs).
POSITIVE_TIME_US = Range(0.0, MAX_TIME_US, "us", low_open=True)
#: Mean time between PE failures and mean repair time: at least 1 us, or failure events alone would
#: keep the simulated clock from moving.
FAILURE_TIME_US = Range(1.0, MAX_TIME_US, "us")
#: Mean gap between job arrivals (1 ns .. about 17 minutes).
INTERARRIVAL_US = Range(1e-3, 1e9, "us")
#: Arrival rate, the inverse of :data:`INTERARRIVAL_US`.
RATE_JOBS_PER_MS = Range(1e-6, 1e6, "jobs/ms")
#: Data volume on an edge (platform volume units, bytes for the built-in platforms).
VOLUME = Range(0.0, 1e12, "volume units")
#: Link bandwidth in volume units per us; ``inf`` means free transfers.
BANDWIDTH = Range(1e-6, 1e12, "volume units/us", inf_ok=True)
#: Power of a busy or idle slot.
POWER_W = Range(0.0, 1e4, "W")
#: PEs of one platform (the link table is quadratic in it).
PE_COUNT = Range(1, 1024, "PEs", integer=True)
#: Parallel slots of one PE (FPGA regions).
CAPACITY = Range(1, 256, "slots", integer=True)
#: Tasks of one application.
TASKS = Range(1, 10_000, "tasks", integer=True)
#: Applications in one mix.
APPS = Range(1, 1_000, "applications", integer=True)
#: Relative weight of an application in a mix.
WEIGHT = Range(0.0, 1e6)
#: Entries of an arrival trace.
TRACE_LENGTH = Range(1, 10_000_000, "arrivals", integer=True)
#: Jobs in one run, and the admission cap.
JOBS = Range(1, 100_000_000, "jobs", integer=True)
#: Relative standard deviation of execution-time noise.
NOISE_RSD = Range(0.0, 10.0)
#: Seeds of runs and random workloads.
SEED = Range(0, 2**63 - 1, integer=True)
#: Worker processes of one study or training run.
WORKERS = Range(1, 256, "workers", integer=True)
# -- the [power] table of a platform (soc_emu/formats/power_toml.py) -----------------------------------
#: Clock frequencies of operating points, caps and the userspace governor.
MHZ = Range(1.0, 1e5, "MHz")
#: Supply voltages of operating points.
MILLIVOLTS = Range(1.0, 1e5, "mV")
#: Effective switched capacitance of one busy slot (P = C V^2 f).
CAPACITANCE_NF = Range(0.0, 1e6, "nF")
#: Governor sampling period: at least 1 us, or sampling events alone would keep the clock still.
SAMPLING_US = Range(1.0, 1e9, "us")
#: Stall per frequency change (DVFS transitions take microseconds to milliseconds).
TRANSITION_US = Range(0.0, 1e6, "us")
#: Temperatures (ambient, trip points, leakage reference).
TEMPERATURE_C = Range(-273.15, 1e4, "C")
#: Thermal resistance and capacitance of a node.
THERMAL_RESISTANCE = Range(0.0, 1e6, "C/W", low_open=True)
THERMAL_CAPACITANCE = Range(1e-6, 1e6, "J/C")
#: Fractions and governor thresholds.
FRACTION = Range(0.0, 1.0)
#: Bytes read from any one input file (platforms, workloads, DS3 files, timings files).
FILE_BYTES = Range(0, 16 * 2**20, "bytes", integer=True)
#: Bytes read from a checkpoint file.
CHECKPOINT_BYTES = Range(0, 512 * 2**20, "bytes", integer=True)

#: Every range by the name the README table shows, with what it bounds.
LIMITS: dict[str, tuple[Range, str]] = {
    "time": (TIME_US, "execution times, latencies, launch/reconfiguration overheads, trace times"),
    "positive time": (POSITIVE_TIME_US, "deadline_us, --duration"),
    "failure time": (FAILURE_TIME_US, "--failures MTBF_US,REPAIR_US"),
    "inter-arrival": (INTERARRIVAL_US, "mean_interarrival_us, --interarrival"),
    "rate": (RATE_JOBS_PER_MS, "rate_jobs_per_ms, --rate"),
    "volume": (VOLUME, "edge volume, DS3 comm_vol"),
    "bandwidth": (BANDWIDTH, "interconnect and link bandwidths, DS3 comm_band"),
    "power": (POWER_W, "active_power_w, idle_power_w, leakage_w, idle_w, profile watts, DS3 power_profile"),
    "PEs per platform": (PE_COUNT, "sum of pe_group count, sum of DS3 capacities"),
    "capacity": (CAPACITY, "pe_group capacity"),
    "tasks per application": (TASKS, "tasks of a TOML application or DS3 job"),
    "applications per mix": (APPS, "[[applications]], --workload a,b,..."),
    "mix weight": (WEIGHT, "probability, --workload app:weight"),
    "trace length": (TRACE_LENGTH, "trace_us entries"),
    "jobs": (JOBS, "--jobs, --max-jobs, max_jobs_in_system"),
    "noise": (NOISE_RSD, "--noise"),
    "seed": (SEED, "--seed"),
    "workers": (WORKERS, "--workers of sweep, compare and study"),
    "frequency": (MHZ, "[power] opp MHz, userspace_mhz, trip_mhz, profile mhz, DS3 opp / trip_freq"),
    "voltage": (MILLIVOLTS, "[power] opp mV, DS3 opp"),
    "capacitance": (CAPACITANCE_NF, "[power] ceff_nf"),
    "sampling period": (SAMPLING_US, "[power] sampling_period_us"),
    "transition": (TRANSITION_US, "[power] transition_us"),
    "temperature": (TEMPERATURE_C, "[power] ambient_c, trip_c, leakage_ref_c, hysteresis_c"),
    "thermal resistance": (THERMAL_RESISTANCE, "[power] resistance_c_per_w"),
    "thermal capacitance": (THERMAL_CAPACITANCE, "[power] capacitance_j_per_c"),
    "fraction": (FRACTION, "[power] up/down_threshold, memory_bound, leakage_temp_coeff"),
    "input file size": (FILE_BYTES, "any platform, workload, application, DS3 or timings file"),
    "checkpoint size": (CHECKPOINT_BYTES, "--model checkpoints"),
}


def limits_table() -> str:
    """The limits as a markdown table (the README fragment shows its output)."""
    rows = ["| limit | range | applies to |", "|---|---|---|"]
    rows += [f"| {name} | {r.describe()} | {what} |" for name, (r, what) in LIMITS.items()]
    return "\n".join(rows)
