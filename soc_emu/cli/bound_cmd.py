"""``soc-emu bound``: grade schedulers against the CP-SAT optimum on a suite of DAGs.

A preset of the study runner (:func:`soc_emu.study.presets.bound_spec`): one single-job run per (instance,
scheduler), the ``optimal`` scheduler included, on ``--backend local|ray``; the gaps come from
:mod:`soc_emu.optimal.suites` and :mod:`soc_emu.optimal.gaps`. Module level stays cheap (argparse only).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from soc_emu.cli.arguments import add_backend_arguments, name_list, number_list, output_dir_arg
from soc_emu.errors import SocEmuError

HELP = "grade schedulers against the CP-SAT optimum (or bound) on a suite of DAGs"

DESCRIPTION = """\
Run every DAG of a suite once (one job, alone on the platform) under each scheduler and under the
`optimal` scheduler (OR-Tools CP-SAT, deterministic time limit per instance), and report each
scheduler's makespan, the optimum (or the best schedule found and the solver's bound) and the gap. The
suite is random DAGs (--instances per CCR, task counts drawn from --tasks) or the files of --dags.
With --out: the study folder (runs.csv, resumable), bound.csv (one row per instance and scheduler),
summary.csv and bound.png (gap distribution per scheduler and CCR)."""

EPILOG = """\
examples:
  soc-emu bound --instances 20 --ccr 0.1,1,5 --out results/bound
  soc-emu bound --dags my_dags/ --platform my_soc.toml --schedulers heft,peft --time-limit 30
"""

#: Summary table columns: (key, header, format).
SUMMARY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("scheduler", "scheduler", "{}"), ("ccr", "CCR", "{}"), ("instances", "n", "{:d}"),
    ("mean_gap", "mean gap", "{:.1%}"), ("median_gap", "median", "{:.1%}"), ("max_gap", "max", "{:.1%}"),
    ("share_at_best", "at optimum", "{:.0%}"), ("share_proven", "proven", "{:.0%}"),
    ("median_solve_deterministic_s", "solve det-s (median)", "{:.2f}"),
    ("median_solve_s", "wall s", "{:.2f}"),
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``bound``."""
    p = subparsers.add_parser("bound", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--platform", default="quad", metavar="NAME|FILE",
                   help="platform (default: quad, 4 heterogeneous single-slot PEs)")
    p.add_argument("--schedulers", default="heft,peft,etf,met", metavar="NAME[,...]",
                   help="schedulers to grade (default: heft,peft,etf,met)")
    suite = p.add_argument_group("suite (random DAGs unless --dags is given)")
    suite.add_argument("--dags", metavar="DIR", help="grade on the DAG files of this folder instead")
    suite.add_argument("--instances", type=int, default=20, metavar="N", help="random DAGs per CCR (default: 20)")
    suite.add_argument("--tasks", default="10-30", metavar="MIN-MAX", help="task count range (default: 10-30)")
    suite.add_argument("--ccr", default="0.1,1,5", metavar="CCR[,...]",
                       help="communication-to-computation ratios (default: 0.1,1,5)")
    suite.add_argument("--het", type=float, default=1.0, help="heterogeneity factor of execution times (default: 1)")
    suite.add_argument("--fanout", type=int, default=3, help="maximum out-degree (default: 3)")
    suite.add_argument("--seed", type=int, default=0, help="seed of the suite (default: 0)")
    solver = p.add_argument_group("solver")
    solver.add_argument("--time-limit", type=float, default=10.0, metavar="S",
                        help="CP-SAT deterministic time limit per instance (default: 10)")
    add_backend_arguments(p)
    out = p.add_argument_group("output")
    out.add_argument("--out", metavar="DIR", type=output_dir_arg,
                     help="study folder, bound.csv, summary.csv and bound.png (resumable)")
    out.add_argument("--csv", metavar="FILE", help="also write bound.csv here")
    p.set_defaults(handler=run)
    return p


def _task_range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    try:
        values = (int(low), int(high) if sep else int(low))
    except ValueError:
        raise SocEmuError(f"expected MIN-MAX task counts, got {text!r}", source="--tasks") from None
    return values


def _check_generator_flags(args: argparse.Namespace, tasks: tuple[int, int], ccrs: Sequence[float]) -> None:
    """The random generator's own checks (:class:`RandomDagSpec`), reported against the flag that set the
    value rather than the ``random:`` spec the suite is made of."""
    from soc_emu.workloads.random_dag import RandomDagSpec

    flag_of_key = {"tasks": "--tasks", "fanout": "--fanout", "ccr": "--ccr", "het": "--het", "seed": "--seed"}
    for size in tasks:
        for ccr in ccrs:
            try:
                RandomDagSpec(tasks=size, fanout=args.fanout, ccr=ccr, het=args.het, seed=args.seed)
            except SocEmuError as exc:
                key = (exc.source or "").removeprefix("random:")
                raise SocEmuError(exc.detail, source=flag_of_key.get(key, "--ccr")) from None


def bound_study(args: argparse.Namespace) -> Any:
    """The study spec the flags describe (the bound preset of the study runner)."""
    from soc_emu.optimal.suites import folder_suite, random_suite
    from soc_emu.study.presets import bound_spec
    from soc_emu.study.spec import parse_spec

    if args.dags is not None:
        workloads = folder_suite(args.dags)
    else:
        ccrs = number_list(args.ccr, float, "--ccr")
        if len(set(ccrs)) != len(ccrs):
            raise SocEmuError(f"duplicate values in {args.ccr!r}", source="--ccr")
        tasks = _task_range(args.tasks)
        _check_generator_flags(args, tasks, ccrs)
        workloads = random_suite(instances=args.instances, tasks=tasks, ccrs=ccrs, het=args.het,
                                 fanout=args.fanout, seed=args.seed)
    if not args.time_limit > 0:
        raise SocEmuError(f"must be > 0, got {args.time_limit}", source="--time-limit")
    data = bound_spec(platform=args.platform, workloads=workloads,
                      schedulers=list(name_list(args.schedulers, "--schedulers")),
                      solver_options={"max_deterministic_time": args.time_limit})
    flag_of = {"platforms": "--platform", "workloads": "--dags" if args.dags is not None else "--ccr",
               "schedulers": "--schedulers"}
    return parse_spec({}, source="bound", overrides=data, flag_of=flag_of)


def run(args: argparse.Namespace) -> int:
    """Run the suite, print the summary table, write the CSV files and the plot."""
    from soc_emu.cli.study_cmd import run_spec
    from soc_emu.optimal.gap_plot import plot_gaps
    from soc_emu.optimal.gaps import GRADE_COLUMNS, grade, summarize_gaps
    from soc_emu.output.files import atomic_write_csv

    result = run_spec(bound_study(args), args, args.out)
    for row in result.failed:
        print(f"soc-emu: run failed: {row['scheduler']} on {row['workload']}: {row['error']}", file=sys.stderr)
    graded = grade(result.rows)
    summary = summarize_gaps(graded)
    sys.stdout.write(format_summary(summary))
    targets = [Path(args.out) / "bound.csv"] if args.out else []
    if args.csv:
        targets.append(Path(args.csv))
    for path in targets:
        atomic_write_csv(path, graded, GRADE_COLUMNS)
        print(f"  {path}")
    if args.out:
        atomic_write_csv(Path(args.out) / "summary.csv", summary, [key for key, _, _ in SUMMARY_COLUMNS])
        print(f"  {plot_gaps(graded, Path(args.out) / 'bound.png')}")
    return 1 if result.failed else 0


def format_summary(summary: list[dict[str, Any]]) -> str:
    """The summary as an aligned text table."""
    header = [title for _, title, _ in SUMMARY_COLUMNS]
    body = [[fmt.format(s[key]) if s[key] is not None else "-" for key, _, fmt in SUMMARY_COLUMNS] for s in summary]
    widths = [max(len(x) for x in col) for col in zip(header, *body)]
    lines = ["  ".join(x.rjust(w) for x, w in zip(line, widths)) for line in (header, *body)]
    return "\n".join(lines) + "\n"


