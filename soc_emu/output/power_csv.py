"""CSV timeline of the clusters' frequency, power and temperature (platforms with power data only).

One row per :class:`~soc_emu.engine.records.PowerRecord`, i.e. each time a cluster's state changed (a task
started or stopped on it, its OPP changed, a sampling tick re-evaluated it): the values hold from that time
until the cluster's next row. Empty cells: no OPP table / no thermal node.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from soc_emu.output.csv_trace import CsvTraceWriter

if TYPE_CHECKING:
    from soc_emu.engine.records import PowerRecord

#: Column order of ``power.csv``.
POWER_CSV_COLUMNS: tuple[str, ...] = ("time_us", "cluster", "mhz", "power_w", "temperature_c", "throttled")


def _cell(x: float) -> float | str:
    return "" if math.isnan(x) else x


class PowerCsvWriter(CsvTraceWriter):
    """Run observer writing ``power.csv`` row by row (nothing is kept in memory); file handling is the
    task trace's."""

    columns = POWER_CSV_COLUMNS
    on_task = None  # type: ignore[assignment]  # task rows belong to trace.csv

    def on_power(self, r: PowerRecord) -> None:
        """Append one row."""
        self._writer.writerow((r.time_us, r.cluster, _cell(r.mhz), r.power_w, _cell(r.temperature_c), int(r.throttled)))
        self.rows += 1
