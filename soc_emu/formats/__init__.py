"""File formats: our TOML platform/application/workload files, DS3 text files, and the loading API."""

from soc_emu.formats.ds3 import detect_ds3, read_ds3_job, read_ds3_soc
from soc_emu.formats.loading import (
    DEFAULT_PLATFORM,
    DEFAULT_WORKLOAD,
    builtin_platforms,
    builtin_workloads,
    check_compatible,
    load_platform,
    load_scenario,
    load_workload,
)

__all__ = [
    "DEFAULT_PLATFORM",
    "DEFAULT_WORKLOAD",
    "builtin_platforms",
    "builtin_workloads",
    "check_compatible",
    "detect_ds3",
    "load_platform",
    "load_scenario",
    "load_workload",
    "read_ds3_job",
    "read_ds3_soc",
]
