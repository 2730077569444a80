"""Per-task CSV trace, written row by row as the engine reports tasks (nothing is kept in memory).

One row per task execution, in the order tasks freed their slot. A task killed by a PE failure appears
with ``completed = 0`` and again (``completed = 1``) when its re-execution finishes.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from soc_emu.engine.records import TaskRecord
    from soc_emu.model.platform import Platform

#: Column order of ``trace.csv``.
CSV_COLUMNS: tuple[str, ...] = (
    "job_id",
    "app",
    "task",
    "task_name",
    "kernel",
    "pe",
    "pe_name",
    "slot",
    "ready_us",
    "start_us",
    "finish_us",
    "overhead_us",
    "completed",
)


class CsvTraceWriter:
    """Run observer writing ``trace.csv``. Opens the file at ``on_start``, closes it at ``on_finish``."""

    #: Header row (a subclass writing other rows changes it).
    columns: tuple[str, ...] = CSV_COLUMNS

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = None
        self._writer = None
        self.rows = 0

    def on_start(self, platform: Platform, start_us: float) -> None:
        """Create the file and write the header."""
        self._file = open(self.path, "w", newline="", encoding="utf-8", buffering=1 << 20)  # noqa: SIM115
        self._writer = csv.writer(self._file)
        self._writer.writerow(self.columns)

    def on_task(self, r: TaskRecord) -> None:
        """Append one row."""
        self._writer.writerow(
            (r.job_id, r.app, r.task, r.task_name, r.kernel, r.pe, r.pe_name, r.slot,
             r.ready_us, r.start_us, r.finish_us, r.overhead_us, int(r.completed))
        )
        self.rows += 1

    def on_finish(self, end_us: float) -> None:
        """Flush and close the file."""
        self.close()

    def close(self, status: object = None) -> None:
        """Close the file if open (safe to call twice, e.g. after a failed run). Rows are written whole,
        one ``writerow`` each, so an interrupted run's file ends with a complete row; ``status`` (how an
        interrupted run ended) is recorded in ``config.json``, not here."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None
