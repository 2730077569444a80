"""``soc-emu study``: run a study from a spec file or flags (``study run``), or redraw its plots (``study plot``).

:func:`run_spec` is the one way the CLI runs a study: ``study run``, ``sweep`` and ``compare`` all build a
:class:`~soc_emu.study.spec.StudySpec` and call it. Module level stays cheap (argparse only).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from soc_emu.cli.arguments import add_backend_arguments, name_list, number_list, output_dir_arg
from soc_emu.errors import SocEmuError

HELP = "run a study (schedulers x rates x seeds x ...) on local workers or Ray, resumably, with plots"

DESCRIPTION = """\
Expand a study spec (a TOML file, or the flags below) into runs, execute them on a process pool or on Ray,
and write runs.csv (one row per run), summary.csv (means and 95% confidence intervals over seeds),
study.json (the effective spec and the software versions) and study.png into --out. Rerunning the same
study into the same folder resumes it; a folder holding another study is refused."""

EPILOG = """\
examples:
  soc-emu study run spec.toml --out results/study
  soc-emu study run --schedulers etf,heft --rates 10,25,50 --seeds 0,1,2 --jobs 200 --out results/s
  soc-emu study run spec.toml --backend ray --address 127.0.0.1:6379 --out results/study
  soc-emu study plot results/study
"""

#: Flags of ``study run`` that set spec keys, and the key each sets.
SPEC_FLAGS = {"--name": "name", "--platforms": "platforms", "--workloads": "workloads",
              "--schedulers": "schedulers", "--rates": "rates", "--seeds": "seeds", "--noise": "noise",
              "--failures": "failures", "--max-jobs": "max_jobs", "--jobs": "jobs", "--duration": "duration_us"}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``study`` with its ``run`` and ``plot`` actions."""
    p = subparsers.add_parser("study", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(p))
    run_p = actions.add_parser("run", help="run (or resume) a study", description=DESCRIPTION, epilog=EPILOG,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    run_p.add_argument("spec", nargs="?", metavar="SPEC.toml", help="study spec file (TOML, or a study.json)")
    axes = run_p.add_argument_group("spec from flags (each overrides the file's key)")
    axes.add_argument("--name", metavar="TEXT")
    axes.add_argument("--platforms", metavar="NAME|FILE[,...]")
    axes.add_argument("--workloads", metavar="NAME|FILE[;...]",
                      help="workloads, separated by ';' (a workload may itself be a comma-separated mix)")
    axes.add_argument("--schedulers", metavar="NAME[,...]")
    axes.add_argument("--rates", metavar="JOBS_PER_MS[,...]")
    axes.add_argument("--seeds", metavar="SEED[,...]")
    axes.add_argument("--noise", metavar="RSD[,...]")
    axes.add_argument("--failures", metavar="none|MTBF_US:REPAIR_US[,...]")
    axes.add_argument("--max-jobs", metavar="N[,...]")
    length = axes.add_mutually_exclusive_group()
    length.add_argument("--jobs", type=int, metavar="N")
    length.add_argument("--duration", type=float, metavar="US")
    add_backend_arguments(run_p)
    run_p.add_argument("--out", required=True, metavar="DIR", type=output_dir_arg,
                       help="output folder (resumed when it holds this study)")
    run_p.add_argument("--no-plot", action="store_true", help="skip study.png")
    run_p.set_defaults(handler=run_command)
    plot_p = actions.add_parser("plot", help="draw study.png from a study's runs.csv")
    plot_p.add_argument("folder", metavar="DIR")
    plot_p.set_defaults(handler=plot_command)
    return p


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen action."""
    return int(args.handler(args))


def spec_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The spec keys the flags set."""
    out: dict[str, Any] = {}
    if args.name is not None:
        out["name"] = args.name
    if args.platforms is not None:
        out["platforms"] = list(name_list(args.platforms, "--platforms"))
    if args.workloads is not None:
        out["workloads"] = [w.strip() for w in args.workloads.split(";") if w.strip()]
    if args.schedulers is not None:
        out["schedulers"] = list(name_list(args.schedulers, "--schedulers"))
    if args.rates is not None:
        out["rates"] = list(number_list(args.rates, float, "--rates"))
    if args.seeds is not None:
        out["seeds"] = list(number_list(args.seeds, int, "--seeds"))
    if args.noise is not None:
        out["noise"] = list(number_list(args.noise, float, "--noise"))
    if args.failures is not None:
        out["failures"] = [failure_entry(x) for x in name_list(args.failures, "--failures")]
    if args.max_jobs is not None:
        out["max_jobs"] = list(number_list(args.max_jobs, int, "--max-jobs"))
    if args.jobs is not None:
        out["jobs"] = args.jobs
    if args.duration is not None:
        out["duration_us"] = args.duration
    return out


def failure_entry(text: str) -> Any:
    """``none`` or ``MTBF_US:REPAIR_US`` to a spec ``failures`` value."""
    if text == "none":
        return text
    try:
        mtbf, repair = (float(x) for x in text.split(":"))
    except ValueError:
        raise SocEmuError(f"expected none or MTBF_US:REPAIR_US, got {text!r}", source="--failures") from None
    return {"mtbf_us": mtbf, "repair_us": repair}


def run_command(args: argparse.Namespace) -> int:
    """``study run``: build the spec, run it, print where the results are. Exit status 1 when some runs
    failed (their rows hold the error), 0 when every run gave figures."""
    from soc_emu.study.spec import load_spec, parse_spec

    overrides = spec_overrides(args)
    flag_of = {key: flag for flag, key in SPEC_FLAGS.items()}
    if args.spec is not None:
        spec = load_spec(args.spec, overrides, flag_of)
    else:
        spec = parse_spec({}, overrides=overrides, flag_of=flag_of)
    result = run_spec(spec, args, args.out)
    if not args.no_plot:
        from soc_emu.study.plots import plot_study

        result.paths["plot"] = plot_study(result.rows, result.paths["runs"].parent / "study.png", title=spec.name)
    failed = len(result.failed)
    print(f"{len(result.rows)} runs ({result.executed} executed now, {result.resumed} resumed, {failed} failed)")
    for path in result.paths.values():
        print(f"  {path}")
    # The study finished, but a script must be able to tell that some rows hold errors, not figures.
    return 1 if failed else 0


def plot_command(args: argparse.Namespace) -> int:
    """``study plot``: redraw study.png from runs.csv."""
    from pathlib import Path

    from soc_emu.study.plots import plot_study
    from soc_emu.study.table import read_table

    folder = Path(args.folder)
    rows = read_table(folder / "runs.csv")
    title = folder.name
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        title = json.loads((folder / "study.json").read_text(encoding="utf-8"))["spec"]["name"]
    print(plot_study(rows, folder / "study.png", title=title))
    return 0


def run_spec(spec: Any, args: argparse.Namespace, out_dir: str | None) -> Any:
    """Run ``spec`` on the backend the flags name, with a progress bar. Ctrl-C or SIGTERM stops it with
    :class:`~soc_emu.interrupts.RunInterrupted` (one line: how many runs are saved, and that the same
    command resumes)."""
    from soc_emu.cli.arguments import backend_from_args
    from soc_emu.interrupts import RunInterrupted, exit_status, signal_name, terminate_raises
    from soc_emu.study.runner import StudyInterrupted, run_study

    backend = backend_from_args(args)
    try:
        with terminate_raises():
            return run_study(spec, out_dir=out_dir, backend=backend, progress=True,
                             command_line=["soc-emu", *(getattr(args, "argv", None) or sys.argv[1:])])
    except StudyInterrupted as stop:
        where = (f"{stop.done} of {stop.total} runs are saved in {stop.out_dir}; run the same command again to "
                 "resume") if out_dir is not None else "nothing is saved without --out DIR"
        raise RunInterrupted(f"interrupted by {signal_name(stop.cause)}: {where}",
                             exit_status=exit_status(stop.cause)) from None
