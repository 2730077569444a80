"""``soc-emu sweep``: the same scenario under several schedulers, arrival rates and seeds, as one table.

Every combination is one :func:`soc_emu.runner.execute` call with identical options apart from the swept
values, so the same seed gives every scheduler the same job arrivals.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
from typing import Any

from soc_emu.cli.arguments import number_list
from soc_emu.errors import SocEmuError

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
    out = p.add_argument_group("output")
    out.add_argument("--csv", metavar="FILE", help="also write one row per run to this CSV file")
    out.add_argument("--json", action="store_true", help="print one JSON object {\"runs\": [...]} on stdout")
    p.set_defaults(handler=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Execute every combination and print the table (or JSON)."""
    from soc_emu.cli.run_cmd import config_from_args
    from soc_emu.runner import execute

    schedulers = [s.strip() for s in args.schedulers.split(",") if s.strip()]
    if not schedulers:
        raise SocEmuError("name at least one scheduler", source="--schedulers")
    rates = [None] if args.rates is None else list(number_list(args.rates, float, "--rates"))
    seeds = [None] if args.seeds is None else list(number_list(args.seeds, int, "--seeds"))
    argv = getattr(args, "argv", None)
    rows: list[dict[str, Any]] = []
    for rate, seed, scheduler in itertools.product(rates, seeds, schedulers):
        one = argparse.Namespace(**vars(args))
        one.scheduler, one.rate, one.interarrival, one.seed = scheduler, rate, None, seed
        result = execute(config_from_args(one, argv))
        row = {"scheduler": scheduler, "rate_jobs_per_ms": result.config["workload"]["arrivals"]["rate_jobs_per_ms"],
               "seed": seed}
        row.update({key: result.metrics[key] for key, _, _ in COLUMNS})
        rows.append(row)
        if not args.json:
            if len(rows) == 1:
                sys.stdout.write(_header() + "\n")
            sys.stdout.write(_line(row) + "\n")
            sys.stdout.flush()
    if args.csv:
        try:
            with open(args.csv, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        except OSError as exc:
            raise SocEmuError(f"cannot write: {exc.strerror}", source=f"--csv {args.csv}") from None
    if args.json:
        from soc_emu.output.results import json_safe

        sys.stdout.write(json.dumps({"runs": json_safe(rows)}, allow_nan=False) + "\n")
    return 0


def _header() -> str:
    return f"{'scheduler':<12}{'rate':>7}{'seed':>6}" + "".join(f"{h:>13}" for _, h, _ in COLUMNS)


def _line(row: dict[str, Any]) -> str:
    cells = []
    for key, _, fmt in COLUMNS:
        value = row[key]
        cells.append(f"{'-' if value is None else fmt.format(value):>13}")
    return f"{row['scheduler']:<12}{row['rate_jobs_per_ms']:>7.3g}{row['seed']:>6}" + "".join(cells)
