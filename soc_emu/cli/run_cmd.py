"""``soc-emu run``: one emulator run, printed as a summary table or as one JSON object.

Module level stays cheap (argparse only): the engine, the loaders and the scheduler registry are imported
inside :func:`run`, and torch only if the chosen scheduler needs it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

from soc_emu import limits
from soc_emu.cli.arguments import nonempty_arg, output_dir_arg, ranged_arg
from soc_emu.errors import SocEmuError

HELP = "run one emulation and report its metrics"

DESCRIPTION = """\
Run jobs of a workload on a platform under a scheduler and report latency, throughput, utilisation and
energy. Platforms and workloads are built-in names (see `soc-emu list`) or file paths (our TOML format or
DS3 text files); comma-separated applications (app or app:weight) form a mix. Without options: the
default platform and workload under HEFT, 200 jobs, seed 0."""

EPILOG = """\
examples:
  soc-emu run
  soc-emu run --platform ds3 --workload ds3_mix --scheduler met --rate 5 --jobs 1000 --json
  soc-emu run --scheduler etf --duration 100000 --failures 50000,2000 --out results/etf
"""


def add_scenario_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by ``run`` and ``sweep``: platform, workload, binding, admission, run length,
    noise, failures and bus contention (no imports: ``--help`` of any command stays fast)."""
    what = p.add_argument_group("what to run")
    what.add_argument("--platform", metavar="NAME|FILE", type=nonempty_arg("a platform name or file"),
                      help="platform name or file (default: the built-in default, marked in `soc-emu list`)")
    what.add_argument("--workload", metavar="NAME|FILE|APP[:W],...", type=nonempty_arg("a workload"),
                      help="workload name or file, or comma-separated applications (optionally app:weight) "
                           "forming a mix, or random:key=value,... (default: the built-in default workload)")
    what.add_argument("--binding", choices=("on_ready", "late"), default=None,
                      help="bind tasks when they become ready (DS3) or only when a PE is idle "
                           "(default: the scheduler's)")
    load = p.add_argument_group("admission")
    load.add_argument("--max-jobs", type=ranged_arg(limits.JOBS), metavar="N", help="cap on jobs in the system at once")
    load.add_argument("--drop", action="store_true", default=None,
                      help="drop jobs arriving while the cap is reached (default: they wait)")
    length = p.add_argument_group("run length and randomness")
    count = length.add_mutually_exclusive_group()
    count.add_argument("--jobs", type=ranged_arg(limits.JOBS), metavar="N", help="number of jobs to generate (default: 200)")
    count.add_argument("--duration", type=ranged_arg(limits.POSITIVE_TIME_US), metavar="US", help="simulated time to run instead (us)")
    length.add_argument("--noise", type=ranged_arg(limits.NOISE_RSD), default=0.0, metavar="RSD",
                        help="relative std-dev of execution times (default: 0)")
    length.add_argument("--failures", metavar="MTBF_US,REPAIR_US",
                        help="PE failures: mean time between failures and mean repair time (us)")
    length.add_argument("--failure-types", metavar="TYPE[,...]",
                        help="only PEs of these types fail (default: all)")
    length.add_argument("--shared-bus", action="store_true", default=None,
                        help="transfers queue on one shared bus (contention)")
    what.add_argument("--governor", metavar="NAME|userspace:MHZ", default=None,
                      help="DVFS governor for every cluster: performance, powersave, userspace[:MHZ], ondemand, "
                           "schedutil (default: each cluster's own from the platform; needs a platform with OPPs)")


#: Range of --gantt-tasks (bars in one chart).
GANTT_TASKS = limits.Range(1, 1_000_000, "tasks", integer=True)

_SIZE_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def trace_limit_arg(text: str) -> int | None:
    """``type=`` of ``--trace-limit``: ``500M``, ``4G``, ``1.5G`` (decimal units), a byte count, or ``none``
    (no limit, returned as 0)."""
    spec = text.strip().upper().removesuffix("B").removesuffix("I")
    if spec in ("NONE", "NO"):
        return 0
    unit = spec[-1:] if spec[-1:] in _SIZE_UNITS and spec[-1:] else ""
    try:
        value = float(spec[: len(spec) - len(unit)]) * _SIZE_UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size such as 500M or 4G, or none, got {text!r}") from None
    if not 1 <= value <= 10**15:
        raise argparse.ArgumentTypeError(f"expected a size from 1 byte to 1000T, or none, got {text!r}")
    return int(value)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``run`` and its options."""
    p = subparsers.add_parser("run", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scheduler", default="heft", metavar="NAME", type=nonempty_arg("a scheduler name"),
                   help="scheduler name (default: heft; see `soc-emu list`)")
    rate = p.add_argument_group("arrivals (default: the workload's)").add_mutually_exclusive_group()
    rate.add_argument("--rate", type=ranged_arg(limits.RATE_JOBS_PER_MS), metavar="JOBS_PER_MS", help="mean arrival rate (jobs per ms)")
    rate.add_argument("--interarrival", type=ranged_arg(limits.INTERARRIVAL_US), metavar="US", help="mean inter-arrival time (us)")
    p.add_argument("--seed", type=ranged_arg(limits.SEED), default=0, help="random seed (default: 0)")
    add_scenario_arguments(p)
    p.add_argument("--model", metavar="PATH", type=nonempty_arg("a checkpoint path"),
                   help="checkpoint for a learned scheduler (deepsocs: default is the shipped model)")
    p.add_argument("--scheduler-option", action="append", default=[], metavar="KEY=VALUE",
                   help="keyword option for the scheduler (repeatable; VALUE read as JSON when it parses, "
                        "else as a string)")
    out = p.add_argument_group("output")
    out.add_argument("--out", metavar="DIR", type=output_dir_arg,
                     help="write trace.csv, trace.json (Perfetto), gantt.png, config.json, metrics.json here")
    out.add_argument("--gantt-tasks", type=ranged_arg(GANTT_TASKS), default=None, metavar="N",
                     help="draw at most N tasks in gantt.png (default: 3000)")
    out.add_argument("--trace-limit", type=trace_limit_arg, default=None, metavar="SIZE",
                     help="largest trace.csv + trace.json a run may write, e.g. 500M or 4G, or 'none' "
                          "(default: 1G); a run whose traces are estimated larger is refused before it starts")
    out.add_argument("--json", action="store_true", help="print one JSON object with the metrics on stdout")
    p.set_defaults(handler=run)
    return p


def parse_scheduler_options(items: list[str]) -> dict[str, Any]:
    """``["k=v", ...]`` to keyword options; values are JSON literals when they parse (``3``, ``true``)."""
    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise SocEmuError(f"expected KEY=VALUE, got {item!r}", source="--scheduler-option")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


def parse_failures(text: str | None, types: str | None) -> Any:
    """``"MTBF_US,REPAIR_US"`` to a :class:`FailureModel` (``None`` when not given)."""
    from soc_emu.engine.options import FailureModel

    if text is None:
        if types is not None:
            raise SocEmuError("--failure-types needs --failures MTBF_US,REPAIR_US", source="--failure-types")
        return None
    parts = text.split(",")
    try:
        mtbf, repair = (float(x) for x in parts)
    except ValueError:
        raise SocEmuError(f"expected two numbers MTBF_US,REPAIR_US, got {text!r}", source="--failures") from None
    for value in (mtbf, repair):
        limits.FAILURE_TIME_US.check(value, "--failures")
    pe_types = tuple(t.strip() for t in types.split(",") if t.strip()) if types else None
    with _flag_errors():
        return FailureModel(mtbf_us=mtbf, repair_us=repair, pe_types=pe_types)


#: Engine option fields to the CLI flags that set them (so errors name the flag the user typed).
_FLAG_OF_FIELD = {"num_jobs": "--jobs", "duration_us": "--duration", "noise_rsd": "--noise", "seed": "--seed",
                  "failures.mtbf_us": "--failures", "failures.repair_us": "--failures",
                  "failures.pe_types": "--failure-types", "governor": "--governor"}


@contextlib.contextmanager
def _flag_errors() -> Iterator[None]:
    """Re-raise the engine's option errors with the CLI flag as their source."""
    try:
        yield
    except SocEmuError as exc:
        flag = _FLAG_OF_FIELD.get(exc.source or "")
        if flag is None:
            raise
        raise SocEmuError(exc.detail, source=flag) from None


def config_from_args(args: argparse.Namespace, argv: list[str] | None = None) -> Any:
    """The :class:`RunConfig` the parsed arguments describe."""
    from soc_emu.engine.options import RunOptions
    from soc_emu.engine.view import Binding
    from soc_emu.runner import ArrivalOverrides, RunConfig

    failures = parse_failures(args.failures, args.failure_types)
    if args.duration is not None:
        num_jobs, duration = None, args.duration
    else:
        num_jobs, duration = (args.jobs if args.jobs is not None else RunOptions().num_jobs), None
    with _flag_errors():
        options = RunOptions(seed=args.seed, num_jobs=num_jobs, duration_us=duration, noise_rsd=args.noise,
                             failures=failures, shared_bus=args.shared_bus, governor=getattr(args, "governor", None))
    gantt_tasks = getattr(args, "gantt_tasks", None)
    if gantt_tasks is not None and gantt_tasks < 1:
        raise SocEmuError(f"must be >= 1, got {gantt_tasks}", source="--gantt-tasks")
    extra: dict[str, Any] = {}
    if gantt_tasks is not None:
        extra["gantt_max_tasks"] = gantt_tasks
    scheduler_options = parse_scheduler_options(getattr(args, "scheduler_option", []))
    if getattr(args, "model", None):
        scheduler_options["model_path"] = args.model
    trace_limit = getattr(args, "trace_limit", None)
    if trace_limit is not None:
        extra["trace_limit_bytes"] = trace_limit or None  # 0: --trace-limit none
    defaults = RunConfig()
    return RunConfig(
        platform=args.platform or defaults.platform,
        workload=args.workload or defaults.workload,
        scheduler=args.scheduler,
        scheduler_options=scheduler_options,
        options=options,
        binding=Binding(args.binding) if args.binding else None,
        arrivals=ArrivalOverrides(rate_jobs_per_ms=args.rate, mean_interarrival_us=args.interarrival,
                                  max_jobs_in_system=args.max_jobs, drop_when_full=args.drop),
        out_dir=getattr(args, "out", None),
        command_line=["soc-emu", *(argv if argv is not None else sys.argv[1:])],
        **extra,
    )


def run(args: argparse.Namespace) -> int:
    """Execute the run and print its report."""
    from soc_emu.runner import execute

    from soc_emu.interrupts import terminate_raises

    config = config_from_args(args, getattr(args, "argv", None))
    with _flag_errors(), terminate_raises():
        result = execute(config)
    if args.json:
        doc = json_report(result)
        sys.stdout.write(json.dumps(doc, allow_nan=False) + "\n")
    else:
        sys.stdout.write(text_report(result))
    return 0


def json_report(result: Any) -> dict[str, Any]:
    """The ``--json`` document: every metric plus what ran and where outputs went."""
    from soc_emu.output.results import json_safe

    doc = dict(result.metrics)
    doc["platform"] = result.platform.name
    doc["workload"] = result.workload.name
    doc["scheduler"] = result.config["scheduler"]["name"]
    doc["seed"] = result.config["seed"]
    doc["outputs"] = {k: str(v) for k, v in result.paths.items()}
    return json_safe(doc)


def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return f"{value:,}{unit}"


def text_report(result: Any) -> str:
    """A readable summary: headline metrics, then per-PE utilisation and energy, then output files."""
    m = result.metrics
    c = result.config
    arr = c["workload"]["arrivals"]
    lines = [
        f"platform   {result.platform.name} ({len(result.platform.pes)} PEs, {result.platform.total_slots} slots)",
        f"workload   {result.workload.name} ({', '.join(c['workload']['mix'])}), "
        f"{arr['kind']} arrivals at {_fmt(arr['rate_jobs_per_ms'], ' jobs/ms', 2)}",
        f"scheduler  {c['scheduler']['name']} (binding {c['scheduler']['binding']}), seed {c['seed']}",
        "",
        f"  jobs completed / dropped   {_fmt(m['jobs_completed'])} / {_fmt(m['jobs_dropped'])}",
        f"  tasks completed / killed   {_fmt(m['tasks_completed'])} / {_fmt(m['tasks_killed'])}",
        *_backlog_lines(m),
        f"  job latency mean           {_fmt(m['mean_latency_us'], ' us')}",
        f"  job latency p50/p95/p99    {_fmt(m['p50_latency_us'])} / {_fmt(m['p95_latency_us'])} / "
        f"{_fmt(m['p99_latency_us'])} us",
        f"  admission wait mean / p95  {_fmt(m['mean_admission_wait_us'])} / {_fmt(m['p95_admission_wait_us'])} us",
        f"  makespan                   {_fmt(m['makespan_us'], ' us')}",
        f"  throughput                 {_fmt(m['throughput_jobs_per_ms'], ' jobs/ms', 3)}",
        f"  mean utilisation           {_fmt(_pct(m['mean_utilization']), ' %')}",
        f"  energy                     {_fmt(m['energy_total_uj'], ' uJ')}",
    ]
    if "average_power_w" in m:  # a platform with power data
        lines.append(f"  average power / EDP        {_fmt(m['average_power_w'], ' W', 3)} / "
                     f"{_fmt(m['edp_uj_us'], ' uJ us', 0)}")
        if m["peak_temperature_c"] is not None:
            throttled = sum(m["time_throttled_us"].values())
            lines.append(f"  temperature peak / mean    {_fmt(m['peak_temperature_c'], ' C')} / "
                         f"{_fmt(m['mean_temperature_c'], ' C')}, throttled {_fmt(throttled, ' us')}")
    if m["jobs_with_deadline"]:
        lines.append(f"  deadline misses            {m['deadline_misses']} of {m['jobs_with_deadline']}")
    if m["pe_failures"]:
        lines.append(f"  PE failures                {m['pe_failures']}")
    lines.append(f"  wall time                  {m['wall_seconds']:.3f} s "
                 f"({_fmt(m['tasks_per_second'], ' tasks/s', 0)})")
    lines += ["", f"  {'PE':<16}{'type':<14}{'util %':>8}{'energy uJ':>14}"]
    for pe in result.platform.pes:
        lines.append(f"  {pe.name:<16}{pe.pe_type:<14}{_fmt(_pct(m['utilization'][pe.name])):>8}"
                     f"{_fmt(m['energy_uj'][pe.name]):>14}")
    lines.append("")
    if result.paths:
        lines.append("outputs:")
        lines += [f"  {path}" for path in result.paths.values()]
    else:
        lines.append("no files written (use --out DIR for traces, a Gantt chart and the configuration)")
    return "\n".join(lines) + "\n"


def _backlog_lines(m: dict[str, Any]) -> list[str]:
    """Which jobs the latency figures cover, and the jobs left unfinished at the end (with their ages)."""
    lines = [f"  latency covers             {m['latency_covers']}"]
    if m["jobs_unfinished"]:
        age = m["unfinished_age_us"]
        lines.append(f"  unfinished at the end      {m['jobs_unfinished']:,} ({m['jobs_in_system_at_end']:,} in the "
                     f"system, {m['jobs_waiting_at_end']:,} waiting), age mean / max {_fmt(age['mean'])} / "
                     f"{_fmt(age['max'])} us")
    return lines


def _pct(x: float | None) -> float | None:
    return None if x is None else 100.0 * x
