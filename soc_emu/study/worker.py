"""What a worker does with a run: :func:`soc_emu.runner.execute` it and turn the result into one table row.

The row is a pure function of the :class:`RunSpec` (same spec, same row, in any process on any host),
except the columns of :data:`NONDETERMINISTIC_COLUMNS`: wall times, host, worker process. Equivalence
checks compare every other column. A run that raises gives a row with its ``error`` and no metrics; it
never stops the study.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from soc_emu.study.expand import PARAM_COLUMNS, RunSpec

if TYPE_CHECKING:
    from soc_emu.model.platform import Platform
    from soc_emu.model.workload import Workload

#: Scalar metrics copied from the run's metrics (see :mod:`soc_emu.output.metrics`), in table order.
#: ``rate_jobs_per_ms`` is the arrival rate the run had (the workload's own when the spec left it).
METRIC_COLUMNS: tuple[str, ...] = (
    "rate_jobs_per_ms", "jobs_completed", "jobs_dropped", "tasks_completed", "tasks_killed",
    "mean_latency_us", "p50_latency_us", "p95_latency_us", "p99_latency_us", "max_latency_us",
    "mean_admission_wait_us", "p95_admission_wait_us", "makespan_us", "sim_span_us",
    "throughput_jobs_per_ms", "mean_utilization", "energy_total_uj", "jobs_with_deadline",
    "deadline_misses", "deadline_miss_rate", "pe_failures",
)
#: Every other metric (per PE type, per PE, per application, and any scalar added later) as one JSON object.
DETAILS_COLUMN = "details"
ERROR_COLUMN = "error"
#: Columns that differ between two executions of the same run; compare rows without them.
NONDETERMINISTIC_COLUMNS: tuple[str, ...] = ("wall_seconds", "run_seconds", "host", "worker")
#: Every column of the results table, in order.
COLUMNS: tuple[str, ...] = (*PARAM_COLUMNS, *METRIC_COLUMNS, DETAILS_COLUMN, ERROR_COLUMN,
                            *NONDETERMINISTIC_COLUMNS)
#: Metrics neither copied nor kept in the details (they are wall-clock figures).
_WALL_METRICS = frozenset({"wall_seconds", "tasks_per_second"})


def run_one(run: RunSpec, scenario: tuple[Platform, Workload] | None = None) -> dict[str, Any]:
    """Execute ``run`` and return its row (an ``error`` row if it raised). ``scenario``: the run's
    platform and workload already loaded (they are immutable, so runs may share them)."""
    from soc_emu.interrupts import RunInterrupted
    from soc_emu.output.results import json_safe
    from soc_emu.runner import execute

    t0 = time.perf_counter()
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(run.params())
    try:
        config = run.to_config()
        if scenario is not None:
            config.platform, config.workload = scenario
        result = execute(config)
    except RunInterrupted as exc:  # a signal, not a failure of the run: the study stops, and resumes it later
        cause = exc.__cause__
        raise (cause if isinstance(cause, KeyboardInterrupt) else KeyboardInterrupt()) from None
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded, not raised (the study goes on)
        row[ERROR_COLUMN] = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        wall = None
    else:
        metrics = result.metrics
        row["rate_jobs_per_ms"] = result.config["workload"]["arrivals"]["rate_jobs_per_ms"]
        row.update({name: metrics.get(name) for name in METRIC_COLUMNS if name != "rate_jobs_per_ms"})
        details = {k: v for k, v in metrics.items() if k not in METRIC_COLUMNS and k not in _WALL_METRICS}
        row[DETAILS_COLUMN] = json.dumps(json_safe(details), sort_keys=True, allow_nan=False)
        wall = result.wall_seconds
    row.update(wall_seconds=wall, run_seconds=time.perf_counter() - t0, host=socket.gethostname(),
               worker=os.getpid())
    return row


def run_chunk(runs: Sequence[RunSpec]) -> list[dict[str, Any]]:
    """:func:`run_one` for each run of a batch (one task of a backend). Each platform / workload pair is
    loaded once per batch; its load time is counted in the first run's ``run_seconds``."""
    from soc_emu.runner import resolve_scenario

    loaded: dict[tuple[str, str], tuple[Platform, Workload] | None] = {}
    rows = []
    for run in runs:
        pair = (run.platform, run.workload)
        t0 = time.perf_counter()
        if pair not in loaded:
            try:
                loaded[pair] = resolve_scenario(*pair)
            except Exception:  # noqa: BLE001 - the run itself will load again and record the error
                loaded[pair] = None
        load_seconds = time.perf_counter() - t0
        row = run_one(run, loaded[pair])
        row["run_seconds"] += load_seconds
        rows.append(row)
    return rows


def deterministic(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` without the columns of :data:`NONDETERMINISTIC_COLUMNS`."""
    return {k: v for k, v in row.items() if k not in NONDETERMINISTIC_COLUMNS}
