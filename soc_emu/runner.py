"""One emulator run from a plain description: load, override, validate, simulate, measure, write.

:func:`execute` is the single entry point the CLI, the speed benchmark and the agents' comparison use:

>>> from soc_emu.engine.options import RunOptions
>>> from soc_emu.runner import RunConfig, execute
>>> result = execute(RunConfig(scheduler="met", options=RunOptions(num_jobs=50)))   # doctest: +SKIP
>>> result.metrics["mean_latency_us"]                                                # doctest: +SKIP

It imports neither torch nor amaranth (a learned scheduler is loaded through the registry only when it is
asked for), and matplotlib only when a Gantt chart is written.
"""

from __future__ import annotations

import dataclasses
import platform as host_platform
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from soc_emu import limits
from soc_emu.engine.options import RunOptions
from soc_emu.engine.view import Binding
from soc_emu.errors import SocEmuError
from soc_emu.formats import DEFAULT_PLATFORM, DEFAULT_WORKLOAD
from soc_emu.model.platform import Platform
from soc_emu.model.workload import Workload
from soc_emu.interrupts import RunInterrupted, exit_status, signal_name, signals_deferred
from soc_emu.output.csv_trace import CsvTraceWriter
from soc_emu.output.files import prepare_output_dir
from soc_emu.output.gantt import DEFAULT_MAX_TASKS, GanttRecorder
from soc_emu.output.metrics import MetricsObserver, backlog_metrics
from soc_emu.output.perfetto import PerfettoTraceWriter
from soc_emu.output.power_csv import PowerCsvWriter
from soc_emu.output.results import write_json
from soc_emu.output.trace_size import DEFAULT_TRACE_LIMIT_BYTES, estimate_trace

if TYPE_CHECKING:
    from soc_emu.schedulers.base import Scheduler

#: Scheduler a run uses when none is named (the default platform and workload come from the loaders).
DEFAULT_SCHEDULER = "heft"

#: File names written into the output directory.
OUTPUT_FILES = {
    "trace_csv": "trace.csv",
    "trace_json": "trace.json",
    "gantt_png": "gantt.png",
    "config_json": "config.json",
    "metrics_json": "metrics.json",
    "power_csv": "power.csv",
}


@dataclass(frozen=True)
class ArrivalOverrides:
    """Changes to the workload's arrivals and admission control (``None``: keep the workload's value).

    ``rate_jobs_per_ms`` and ``mean_interarrival_us`` are two spellings of the same thing; give at most one.
    """

    rate_jobs_per_ms: float | None = None
    mean_interarrival_us: float | None = None
    max_jobs_in_system: int | None = None
    drop_when_full: bool | None = None


@dataclass
class RunConfig:
    """Everything that defines a run.

    Attributes
    ----------
    platform, workload:
        A built-in name or a file path, or an already built :class:`Platform` / :class:`Workload`.
        Workload specs follow :func:`soc_emu.formats.load_workload` / ``load_scenario``: a comma-separated
        ``app[:weight]`` list forms a mix, ``random:...`` draws a random DAG.
    scheduler, scheduler_options:
        Registry name and keyword options of the scheduler.
    options:
        The engine's :class:`RunOptions` (seed, number of jobs or duration, noise, failures, shared bus).
    binding:
        Binding style; ``None``: the scheduler's default.
    arrivals:
        Overrides of the workload's arrival rate and admission control.
    out_dir:
        When set, ``trace.csv``, ``trace.json``, ``gantt.png``, ``config.json`` and ``metrics.json`` are
        written there (the directory is created), and ``power.csv`` on a platform with power data.
    gantt, gantt_max_tasks:
        Whether to draw ``gantt.png`` (with an output directory) and how many task bars at most.
    command_line:
        The command that started the run, recorded in ``config.json``.
    observers:
        Extra run observers (e.g. an invariant checker).
    trace_limit_bytes:
        A run whose traces are estimated larger than this is refused before it starts (``None``: no
        limit); see :mod:`soc_emu.output.trace_size`.
    """

    platform: str | Platform = DEFAULT_PLATFORM
    workload: str | Workload = DEFAULT_WORKLOAD
    scheduler: str = DEFAULT_SCHEDULER
    scheduler_options: Mapping[str, Any] = field(default_factory=dict)
    options: RunOptions = field(default_factory=RunOptions)
    binding: Binding | None = None
    arrivals: ArrivalOverrides = field(default_factory=ArrivalOverrides)
    out_dir: str | Path | None = None
    gantt: bool = True
    gantt_max_tasks: int = DEFAULT_MAX_TASKS
    command_line: Sequence[str] | None = None
    observers: Sequence[object] = ()
    trace_limit_bytes: int | None = DEFAULT_TRACE_LIMIT_BYTES


@dataclass
class RunResult:
    """What a run produced.

    Attributes
    ----------
    metrics:
        The metrics dict (see :class:`soc_emu.output.metrics.MetricsObserver`) plus ``wall_seconds``
        and ``tasks_per_second``.
    wall_seconds:
        Wall time of the simulation itself (loading and writing the chart excluded).
    paths:
        Output files by key (``trace_csv``, ``trace_json``, ``gantt_png``, ``config_json``,
        ``metrics_json``); empty without an output directory.
    config:
        The effective configuration (what ``config.json`` holds).
    summary:
        The engine's own run counters (``Simulation.summary()``).
    platform, workload:
        The platform and the workload (after overrides) that ran.
    """

    metrics: dict[str, Any]
    wall_seconds: float
    paths: dict[str, Path]
    config: dict[str, Any]
    summary: dict[str, Any]
    platform: Platform
    workload: Workload


def execute(config: RunConfig) -> RunResult:
    """Run the emulator as ``config`` describes and return its metrics (and write outputs if asked).

    Everything that can be checked is checked before the simulation starts (inputs, the output folder,
    the expected trace size). A :class:`KeyboardInterrupt` (Ctrl-C, or SIGTERM inside
    :func:`soc_emu.interrupts.terminate_raises`) during the simulation closes the traces validly, writes
    partial ``metrics.json`` and ``config.json`` that say where the run stopped, and raises
    :class:`~soc_emu.interrupts.RunInterrupted`.
    """
    from soc_emu.engine.simulation import drive, start_simulation

    options = config.options
    validate_options(options)
    platform, workload = resolve_scenario(config.platform, config.workload)
    workload = apply_overrides(workload, config.arrivals)
    check_failure_types(platform, options)
    if options.governor is not None and platform.power is None:
        raise SocEmuError(f"platform {platform.name!r} has no operating points (try hetero_dvfs or a DS3 SoC file "
                          "with opp lines)", source="--governor")
    scheduler = build_scheduler(config.scheduler, config.scheduler_options, config.binding)
    effective = effective_config(config, platform, workload, scheduler, options)

    metrics_obs = MetricsObserver()
    observers: list[object] = [metrics_obs, *config.observers]
    paths: dict[str, Path] = {}
    writers: list[Any] = []
    gantt: GanttRecorder | None = None
    if config.out_dir is not None:
        check_trace_size(workload, options, config.trace_limit_bytes)
        out = prepare_output_dir(config.out_dir, "--out", tuple(OUTPUT_FILES.values()))
        paths = {key: out / name for key, name in OUTPUT_FILES.items()}
        effective["run_status"] = {"state": "running"}
        write_json(paths["config_json"], effective)
        writers = [CsvTraceWriter(paths["trace_csv"]), PerfettoTraceWriter(paths["trace_json"])]
        if platform.power is not None:  # the frequency / power / temperature timeline
            writers.append(PowerCsvWriter(paths["power_csv"]))
        else:
            del paths["power_csv"]
        observers += writers
        if config.gantt:
            gantt = GanttRecorder(max_tasks=config.gantt_max_tasks)
            observers.append(gantt)
        else:
            del paths["gantt_png"]

    sim = start_simulation(platform, workload, scheduler, options, observers=observers)
    t0 = time.perf_counter()
    interrupt: KeyboardInterrupt | None = None
    try:
        try:
            drive(sim, scheduler)
        except KeyboardInterrupt as exc:
            interrupt = exc
    finally:
        with signals_deferred():
            status = run_status(sim.now, interrupt)
            for writer in writers:  # close files even when the run failed; mark an interrupted trace
                writer.close(status if interrupt is not None else None)
    wall = time.perf_counter() - t0

    metrics = metrics_obs.result()
    if sim.power is not None:  # the power model's energy replaces the fixed-power estimate
        metrics.update(sim.power.metrics(metrics["jobs_completed"], metrics["mean_latency_us"]))
    stats = getattr(scheduler, "stats", None)
    if callable(stats):  # schedulers that report their own figures (e.g. solver time per decision)
        metrics["scheduler_stats"] = stats()
    metrics["wall_seconds"] = wall
    done = metrics["tasks_completed"] + metrics["tasks_killed"]
    metrics["tasks_per_second"] = done / wall if wall > 0 else None
    in_system, waiting = sim.unfinished_arrivals()
    metrics.update(backlog_metrics(sim.now, sim.jobs_arrived, metrics["jobs_completed"], metrics["jobs_dropped"],
                                   in_system, waiting))
    metrics["run_status"] = status
    summary = sim.summary()
    if interrupt is not None:
        with signals_deferred():
            if config.out_dir is not None:
                write_json(paths["metrics_json"], metrics)
                write_json(paths["config_json"], {**effective, "run_status": status})
        where = f"; partial results in {config.out_dir}" if config.out_dir is not None else ""
        raise RunInterrupted(
            f"interrupted by {status['signal']} at simulated time {sim.now:.1f} us after "
            f"{metrics['jobs_completed']} of {sim.jobs_arrived} arrived jobs completed{where}",
            exit_status=exit_status(interrupt)) from interrupt
    effective["run_status"] = status
    if config.out_dir is not None:
        if gantt is not None:
            gantt.render(paths["gantt_png"], title=f"{platform.name} / {workload.name} / {config.scheduler}")
        write_json(paths["metrics_json"], metrics)
        write_json(paths["config_json"], effective)
    return RunResult(metrics, wall, paths, effective, summary, platform, workload)


def run_status(sim_time_us: float, interrupt: KeyboardInterrupt | None) -> dict[str, Any]:
    """How a run ended, as recorded in ``config.json``, ``metrics.json`` and an interrupted trace."""
    if interrupt is None:
        return {"state": "complete", "sim_time_us": sim_time_us}
    return {"state": "interrupted", "signal": signal_name(interrupt), "sim_time_us": sim_time_us}


def check_failure_types(platform: Platform, options: RunOptions) -> None:
    """Every PE type named by the failure model must exist on the platform (a typo must not silently
    switch failures off)."""
    failures = options.failures
    if failures is None or failures.pe_types is None:
        return
    known = sorted({pe.pe_type for pe in platform.pes})
    for pe_type in failures.pe_types:
        if pe_type not in known:
            raise SocEmuError(f"no PE of type {pe_type!r} on platform {platform.name!r} (its types: "
                              f"{', '.join(known)})", source="failures.pe_types")


def check_trace_size(workload: Workload, options: RunOptions, limit_bytes: int | None) -> None:
    """Refuse a run whose traces are expected to exceed ``limit_bytes`` (``None``: no limit)."""
    if limit_bytes is None:
        return
    estimate = estimate_trace(workload, options)
    if estimate.bytes > limit_bytes:
        raise SocEmuError(
            f"the traces would take {estimate.describe()}, more than the limit of {limit_bytes / 1e9:.2g} GB; "
            "give --trace-limit SIZE (e.g. --trace-limit 8G, or none) to allow it, or run without --out",
            source="--out")


# -- steps of a run (public so callers can reuse them, e.g. to load once and run many schedulers) -----
def resolve_scenario(platform: str | Platform, workload: str | Workload) -> tuple[Platform, Workload]:
    """The platform and workload a run uses, from names / file paths (see :mod:`soc_emu.formats`:
    comma-separated ``app[:weight]`` lists form a mix, ``random:...`` draws a random DAG) or objects,
    checked to fit together (every kernel runs on some PE)."""
    from soc_emu.formats import check_compatible, load_platform, load_scenario, load_workload

    try:
        if isinstance(platform, str) and isinstance(workload, str):
            return load_scenario(platform, workload)
        platform_obj = platform if isinstance(platform, Platform) else load_platform(platform)
        workload_obj = workload if isinstance(workload, Workload) else load_workload(workload)
        check_compatible(platform_obj, workload_obj)
        return platform_obj, workload_obj
    except SocEmuError as exc:
        # The loaders name an unknown spec by itself; say which option it came from.
        for spec, flag in ((platform, "--platform"), (workload, "--workload")):
            if isinstance(spec, str) and exc.source == spec:
                raise SocEmuError(exc.detail, source=f"{flag} {spec}") from None
        raise


def apply_overrides(workload: Workload, overrides: ArrivalOverrides) -> Workload:
    """``workload`` with the arrival rate and admission control of ``overrides`` applied (validated)."""
    rate, gap = overrides.rate_jobs_per_ms, overrides.mean_interarrival_us
    if rate is not None and gap is not None:
        raise SocEmuError("give either --rate or --interarrival, not both", source="--rate")
    if rate is not None:
        limits.RATE_JOBS_PER_MS.check(rate, "--rate")
    if gap is not None:
        limits.INTERARRIVAL_US.check(gap, "--interarrival")
    if rate is not None:
        gap = 1000.0 / rate
    if gap is not None:
        arrivals = workload.arrivals
        if arrivals.kind == "trace":
            arrivals = dataclasses.replace(arrivals, kind="poisson", trace_us=(), trace_apps=None)
        workload = dataclasses.replace(workload, arrivals=dataclasses.replace(arrivals, mean_interarrival_us=gap))
    cap = overrides.max_jobs_in_system
    if cap is not None:
        limits.JOBS.check(cap, "--max-jobs")
        workload = dataclasses.replace(workload, max_jobs_in_system=cap)
    if overrides.drop_when_full is not None:
        if overrides.drop_when_full and workload.max_jobs_in_system is None:
            raise SocEmuError("dropping jobs needs a cap on jobs in the system (--max-jobs)", source="--drop")
        workload = dataclasses.replace(workload, drop_when_full=overrides.drop_when_full)
    return workload


def validate_options(options: RunOptions) -> None:
    """Reject run options that describe no finite run (:class:`RunOptions` checks the values itself)."""
    if options.num_jobs is None and options.duration_us is None:
        raise SocEmuError("a run needs a number of jobs (--jobs) or a duration (--duration)", source="--jobs")


def build_scheduler(name: str, options: Mapping[str, Any], binding: Binding | None) -> Scheduler:
    """The scheduler registered as ``name`` (built-ins are registered by importing the package)."""
    import soc_emu.schedulers  # noqa: F401  (registers the built-in schedulers)
    from soc_emu.schedulers.registry import scheduler_class

    try:
        cls = scheduler_class(name)
    except ModuleNotFoundError as exc:  # a lazily registered scheduler whose package is not installed
        raise SocEmuError(f"scheduler {name!r} is not available: {exc}", source="--scheduler") from None
    kwargs = dict(options)
    if binding is not None:
        kwargs["binding"] = binding
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise SocEmuError(f"scheduler {name!r} does not take these options: {exc}", source="--scheduler") from exc


def effective_config(config: RunConfig, platform: Platform, workload: Workload, scheduler: Scheduler,
                     options: RunOptions) -> dict[str, Any]:
    """The configuration that actually ran, as written to ``config.json``."""
    arrivals = workload.arrivals
    return {
        "platform": {
            "spec": config.platform if isinstance(config.platform, str) else None,
            "name": platform.name,
            "source": platform.source,
            "pes": len(platform.pes),
            "slots": platform.total_slots,
            "shared_bus": platform.interconnect.shared_bus if options.shared_bus is None else options.shared_bus,
        },
        "workload": {
            "spec": config.workload if isinstance(config.workload, str) else None,
            "name": workload.name,
            "source": workload.source,
            "mix": {g.name: p for g, p in zip(workload.mix.graphs, workload.mix.normalised)},
            "arrivals": {
                "kind": arrivals.kind,
                "mean_interarrival_us": arrivals.mean_interarrival_us if arrivals.kind != "trace" else None,
                "rate_jobs_per_ms": arrivals.rate_jobs_per_ms,
                "trace_length": len(arrivals.trace_us),
            },
            "max_jobs_in_system": workload.max_jobs_in_system,
            "drop_when_full": workload.drop_when_full,
        },
        "arrival_overrides": dataclasses.asdict(config.arrivals),
        "scheduler": {
            "name": config.scheduler,
            "options": dict(config.scheduler_options),
            "binding": scheduler.binding.value,
            "dispatch_order": getattr(scheduler, "dispatch_order", None),
        },
        "seed": options.seed,
        "run_options": _plain(dataclasses.asdict(options)),
        "versions": _versions(),
        "command_line": list(config.command_line) if config.command_line is not None else None,
    }


def _plain(value: Any) -> Any:
    """Tuples to lists, enums to values (for JSON)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "value") and not isinstance(value, (int, float, str, bool)):
        return value.value
    return value


def _versions() -> dict[str, str]:
    """Versions of soc-emu, Python and the libraries a run's results depend on."""
    from importlib import metadata

    import soc_emu

    found = {"soc_emu": soc_emu.__version__, "python": sys.version.split()[0], "os": host_platform.platform()}
    for dist in ("numpy", "simpy"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:  # pragma: no cover - both are dependencies
            found[dist] = "unknown"
    return found
