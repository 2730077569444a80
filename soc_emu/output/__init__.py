"""Run outputs: streaming metrics, per-task CSV and Perfetto traces, Gantt charts, JSON result files.

Every class here is a run observer (see :mod:`soc_emu.engine.records`): the engine hands it each record
once and nothing is kept that the output does not need.
"""

from soc_emu.output.csv_trace import CSV_COLUMNS, CsvTraceWriter
from soc_emu.output.gantt import GanttRecorder
from soc_emu.output.metrics import MetricsObserver
from soc_emu.output.perfetto import PerfettoTraceWriter
from soc_emu.output.results import write_json

__all__ = ["CSV_COLUMNS", "CsvTraceWriter", "GanttRecorder", "MetricsObserver", "PerfettoTraceWriter", "write_json"]
