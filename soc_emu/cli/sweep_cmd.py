"""``soc-emu sweep``: the same scenario under several schedulers, arrival rates and seeds, as one table.

A preset of the study runner (:func:`soc_emu.study.presets.sweep_spec`): the flags build a one-scenario
study spec, which runs on ``--backend local|ray`` like any study. The same seed gives every scheduler the
same job arrivals. With ``--out`` the study's folder is kept and an interrupted sweep resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from soc_emu.cli.arguments import add_backend_arguments, name_list, number_list, output_dir_arg

HELP = "run a scenario under several schedulers / rates / seeds and tabulate the metrics"

#: Columns of the table and of ``--csv`` (after scheduler, rate and seed).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (metric key, header, format)
    ("jobs_completed", "jobs", "{:d}"),
    ("jobs_dropped", "dropped", "{:d}"),
    ("mean_latency_us", "mean lat us", "{:,.1f}"),
    ("p95_latency_us", "p95 lat us", "{:,.1f}"),
    ("makespan_us", "makespan us", "{:,.0f}"),
    ("throughput_jobs_per_ms", "jobs/ms", "{:.3f}"),
    ("mean_utilization", "util", "{:.3f}"),
    ("energy_total_uj", "energy uJ", "{:,.0f}"),
    ("deadline_misses", "dl miss", "{:d}"),
    ("wall_seconds", "wall s", "{:.2f}"),
)


#: Spec keys of the sweep preset and the flags that set them (for error messages).
FLAG_OF = {"platforms": "--platform", "workloads": "--workload", "schedulers": "--schedulers", "rates": "--rates",
           "seeds": "--seeds", "noise": "--noise", "failures": "--failures", "max_jobs": "--max-jobs",
           "drop": "--drop", "binding": "--binding", "shared_bus": "--shared-bus", "jobs": "--jobs",
           "duration_us": "--duration", "governors": "--governor"}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``sweep``."""
    from soc_emu.cli.run_cmd import add_scenario_arguments

    p = subparsers.add_parser(
        "sweep", help=HELP, description=HELP + ".",
        epilog="example: soc-emu sweep --platform ds3 --schedulers met,etf,heft --rates 1,2,4 --seeds 0,1 --jobs 500",
    )
    p.add_argument("--schedulers", default="random,round_robin,met,etf,heft", metavar="NAME[,...]",
                   help="schedulers to compare (default: random,round_robin,met,etf,heft)")
    p.add_argument("--rates", metavar="JOBS_PER_MS[,...]",
                   help="arrival rates to sweep (default: the workload's own rate)")
    p.add_argument("--seeds", default="0", metavar="SEED[,...]", help="seeds (default: 0)")
    add_scenario_arguments(p)
    add_backend_arguments(p)
    out = p.add_argument_group("output")
    out.add_argument("--csv", metavar="FILE", help="also write one row per run to this CSV file")
    out.add_argument("--json", action="store_true", help="print one JSON object {\"runs\": [...]} on stdout")
    out.add_argument("--out", metavar="DIR", type=output_dir_arg,
                     help="keep the study's results here (runs.csv, summary.csv, study.json; resumable)")
    p.set_defaults(handler=run)
    return p


def sweep_study(args: argparse.Namespace) -> Any:
    """The study spec the sweep's flags describe (the sweep preset of the study runner)."""
    from soc_emu.cli.run_cmd import parse_failures
    from soc_emu.study.presets import sweep_spec
    from soc_emu.study.spec import parse_spec

    failure_model = parse_failures(args.failures, args.failure_types)
    failures = None
    if failure_model is not None:
        failures = {"mtbf_us": failure_model.mtbf_us, "repair_us": failure_model.repair_us}
        if failure_model.pe_types is not None:
            failures["pe_types"] = list(failure_model.pe_types)
    data = sweep_spec(
        platform=args.platform or "hetero", workload=args.workload or "ds3_mix",
        schedulers=list(name_list(args.schedulers, "--schedulers")),
        rates=None if args.rates is None else list(number_list(args.rates, float, "--rates")),
        seeds=list(number_list(args.seeds, int, "--seeds")), jobs=args.jobs, duration_us=args.duration,
        noise=args.noise, failures=failures, max_jobs=args.max_jobs, drop=args.drop, binding=args.binding,
        shared_bus=args.shared_bus, governor=args.governor,
    )
    return parse_spec({}, source="sweep", overrides=data, flag_of=FLAG_OF)


def run(args: argparse.Namespace) -> int:
    """Run the sweep as a study and print the table (or JSON)."""
    from soc_emu.cli.study_cmd import run_spec

    result = run_spec(sweep_study(args), args, args.out)
    rows = [_sweep_row(row) for row in result.rows]
    for row in result.failed:
        print(f"soc-emu: run failed: {row['scheduler']} rate {row['rate']} seed {row['seed']}: {row['error']}",
              file=sys.stderr)
    if not args.json:
        sys.stdout.write(_header() + "\n")
        for row in rows:
            sys.stdout.write(_line(row) + "\n")
    if args.csv:
        from soc_emu.output.files import atomic_write_csv

        atomic_write_csv(args.csv, rows, list(rows[0]), source=f"--csv {args.csv}")
    if args.json:
        from soc_emu.output.results import json_safe

        sys.stdout.write(json.dumps({"runs": json_safe(rows)}, allow_nan=False) + "\n")
    return 0


def _sweep_row(row: dict[str, Any]) -> dict[str, Any]:
    """A study row cut to the sweep's columns."""
    out = {"scheduler": row["scheduler"], "rate_jobs_per_ms": row["rate_jobs_per_ms"], "seed": row["seed"]}
    out.update({key: row.get(key) for key, _, _ in COLUMNS})
    return out


def _header() -> str:
    return f"{'scheduler':<12}{'rate':>7}{'seed':>6}" + "".join(f"{h:>13}" for _, h, _ in COLUMNS)


def _line(row: dict[str, Any]) -> str:
    cells = []
    for key, _, fmt in COLUMNS:
        value = row[key]
        cells.append(f"{'-' if value is None else fmt.format(value):>13}")
    rate = row["rate_jobs_per_ms"]
    return f"{row['scheduler']:<12}{'-' if rate is None else f'{rate:.3g}':>7}{row['seed']:>6}" + "".join(cells)
