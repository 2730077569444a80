"""``soc-emu compare``: latency vs arrival rate of several schedulers (DeepSoCS included) in several scenarios.

Module level stays cheap (argparse only); :mod:`agents.evaluation` is imported inside :func:`run`.
"""

from __future__ import annotations

import argparse
import sys

from soc_emu.cli.arguments import number_list

HELP = "compare schedulers (random, MET, ETF, HEFT, DeepSoCS): latency vs arrival rate, table + plot"

DESCRIPTION = """\
Run every scheduler at every arrival rate and seed in each scenario (noise 0, 0.1, 0.3, PE failures, an
unseen platform and an unseen job mix), then print a table of mean / p95 job latency (means over seeds) with
DeepSoCS's change against HEFT, and write compare.csv, compare_runs.csv, compare.json, compare.md and
compare.png into --out. Seeds default to 1001-1003, which training never uses."""

EPILOG = """\
examples:
  soc-emu compare --out results/compare
  soc-emu compare --scenarios noise0 --rates 25,90 --seeds 1 --jobs 50 --out /tmp/quick
  soc-emu compare --model runs/deepsocs/best.pt --workers 2 --out results/compare
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``compare``."""
    p = subparsers.add_parser("compare", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--platform", default="hetero", metavar="NAME|FILE", help="platform (default: hetero)")
    p.add_argument("--workload", default="ds3_mix", metavar="NAME|FILE", help="workload (default: ds3_mix)")
    p.add_argument("--schedulers", default="random,met,etf,heft,deepsocs", metavar="NAME[,...]")
    p.add_argument("--scenarios", default="noise0,noise0.1,noise0.3,failures,unseen,unseen_mix", metavar="NAME[,...]",
                   help="noiseX, failures, unseen, unseen_mix (default: all six)")
    p.add_argument("--rates", default="10,25,50,70,90", metavar="JOBS_PER_MS[,...]")
    p.add_argument("--seeds", default="1001,1002,1003", metavar="SEED[,...]")
    p.add_argument("--jobs", type=int, default=200, metavar="N", help="jobs per run (default 200)")
    p.add_argument("--failures", default="20000,2000", metavar="MTBF_US,REPAIR_US",
                   help="PE failures of the 'failures' scenario (default 20000,2000)")
    p.add_argument("--unseen-platform", default="ds3", metavar="NAME|FILE", help="platform of 'unseen' (default ds3)")
    p.add_argument("--unseen-workload", default=None, metavar="NAME|FILE", help="workload of 'unseen' (default: --workload)")
    p.add_argument("--unseen-rates", default="5,10,20,30", metavar="JOBS_PER_MS[,...]",
                   help="arrival rates of 'unseen' (default 5,10,20,30: the ds3 SoC saturates sooner)")
    p.add_argument("--unseen-mix", default="wifi_rx:2,radar:1,temporal_mitigation:1", metavar="APP[:W],...",
                   help="job mix of 'unseen_mix' on --platform (default wifi_rx:2,radar:1,temporal_mitigation:1)")
    p.add_argument("--model", default=None, metavar="PATH", help="DeepSoCS checkpoint (default: the shipped one)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="parallel run processes (default 1)")
    p.add_argument("--out", default="results/compare", metavar="DIR", help="output directory (default results/compare)")
    p.add_argument("--no-plot", action="store_true", help="skip compare.png")
    p.set_defaults(handler=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the comparison, print the table and the verdict, write the files."""
    from agents import evaluation as ev
    from soc_emu.errors import SocEmuError

    failures = number_list(args.failures, float, "--failures", positive=True)
    if len(failures) != 2:
        raise SocEmuError("expected MTBF_US,REPAIR_US", source="--failures")
    if args.workers < 1:
        raise SocEmuError(f"must be >= 1, got {args.workers}", source="--workers")
    config = ev.CompareConfig(
        platform=args.platform,
        workload=args.workload,
        schedulers=tuple(s.strip() for s in args.schedulers.split(",") if s.strip()),
        scenarios=tuple(s.strip() for s in args.scenarios.split(",") if s.strip()),
        rates=number_list(args.rates, float, "--rates", positive=True),
        seeds=number_list(args.seeds, int, "--seeds"),
        jobs=args.jobs,
        failures=(failures[0], failures[1]),
        unseen_platform=args.unseen_platform,
        unseen_workload=args.unseen_workload,
        unseen_rates=number_list(args.unseen_rates, float, "--unseen-rates", positive=True),
        unseen_mix=args.unseen_mix,
        model_path=args.model,
        workers=args.workers,
    )
    # Unknown names fail before any run.
    import soc_emu.schedulers  # noqa: F401
    from soc_emu.runner import resolve_scenario
    from soc_emu.schedulers.registry import scheduler_class

    for name in config.schedulers:
        scheduler_class(name)
    for sc in config.build_scenarios():
        resolve_scenario(sc.platform, sc.workload)

    tty = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if tty:
            print(f"\rrun {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    result = ev.run_comparison(config, progress=progress)
    paths = ev.write_outputs(result, args.out, config.schedulers, with_plot=not args.no_plot)
    print(ev.format_table(result.rows, config.schedulers))
    print()
    print(ev.verdict(result.rows))
    print(f"\nwritten: {', '.join(str(p) for p in paths.values())}")
    return 0
