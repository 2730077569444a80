"""The results table: one CSV row per run, appended and flushed as each run finishes, keyed by run hash.

Opening a table that exists resumes it: a line cut short by a killed process is dropped, duplicate keys
are kept once, and :attr:`ResultsTable.done` says which runs need not run again. :meth:`finish` rewrites
the table in the study's run order once every run is in (atomically), so a finished study's table does
not depend on the order in which workers happened to finish.

Cells are text: ``""`` for ``None``, ``true``/``false`` for booleans, ``repr`` for floats (which reads
back to the same float). :func:`typed` turns a row back into Python values.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from soc_emu.errors import SocEmuError

#: Columns read back as text; every other non-empty cell is a JSON literal (number or boolean).
TEXT_COLUMNS = frozenset({"key", "scenario", "platform", "workload", "scheduler", "scheduler_name",
                          "scheduler_options", "failures", "binding", "details", "error", "host", "governor"})


def cell(value: Any) -> str:
    """The CSV text of one value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def typed(row: dict[str, str]) -> dict[str, Any]:
    """A table row with numbers and booleans parsed back (empty cells become ``None``)."""
    out: dict[str, Any] = {}
    for name, text in row.items():
        if text == "" or text is None:
            out[name] = None
        elif name in TEXT_COLUMNS:
            out[name] = text
        else:
            try:
                out[name] = json.loads(text)
            except json.JSONDecodeError:
                out[name] = text
    return out


class ResultsTable:
    """An append-only CSV table of run rows (see the module docstring)."""

    def __init__(self, path: str | Path, columns: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = tuple(columns)
        self.rows: dict[str, dict[str, str]] = {}
        if self.path.exists():
            self._load()
        self._rewrite(self.rows.values())
        self._file = open(self.path, "a", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._writer = csv.DictWriter(self._file, fieldnames=self.columns, lineterminator="\n")

    @property
    def done(self) -> set[str]:
        """Keys of the runs already in the table."""
        return set(self.rows)

    def append(self, row: dict[str, Any]) -> None:
        """Add one run's row and flush it to disk (a later duplicate of a key is ignored)."""
        text = {name: cell(row.get(name)) for name in self.columns}
        if text["key"] in self.rows:
            return
        self.rows[text["key"]] = text
        self._writer.writerow(text)
        self._file.flush()

    def finish(self, order: Iterable[str]) -> None:
        """Rewrite the table with its rows in ``order`` of keys (rows not named keep their place at the end)."""
        self._file.close()
        ordered = [self.rows[k] for k in order if k in self.rows]
        named = {row["key"] for row in ordered}
        ordered += [row for key, row in self.rows.items() if key not in named]
        self._rewrite(ordered)
        self._file = open(self.path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.DictWriter(self._file, fieldnames=self.columns, lineterminator="\n")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ResultsTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------------
    def _load(self) -> None:
        text = self.path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]  # a row cut short by a killed process
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is not None and tuple(reader.fieldnames) != self.columns:
            raise SocEmuError("the results table has other columns (written by another soc-emu version?); "
                              "use a new output folder", source=str(self.path))
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                continue  # a malformed line
            self.rows.setdefault(row["key"], row)

    def _rewrite(self, rows: Iterable[dict[str, str]]) -> None:
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, self.path)


def read_table(path: str | Path) -> list[dict[str, Any]]:
    """Every row of a results table, typed (see :func:`typed`)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return [typed(row) for row in csv.DictReader(f)]
    except OSError as exc:
        raise SocEmuError(f"cannot read the results table: {exc.strerror}", source=str(path)) from None
