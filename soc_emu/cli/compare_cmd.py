"""``soc-emu compare``: latency vs arrival rate of every registered scheduler in several scenarios.

A preset of the study runner (:func:`soc_emu.study.presets.compare_spec`). By default it compares every
scheduler the registry marks ``in_default_comparison`` (the learned one included, loaded through the
registry like any other). Module level stays cheap (argparse only).
"""

from __future__ import annotations

import argparse

from soc_emu.cli.arguments import add_backend_arguments, name_list, number_list, output_dir_arg

HELP = "compare schedulers (every registered one by default): latency vs arrival rate, table + plot"

DESCRIPTION = """\
Run every scheduler at every arrival rate and seed in each scenario (noise 0, 0.1, 0.3, PE failures, an
unseen platform and an unseen job mix), then print a table of mean / p95 job latency (means over seeds)
with each scheduler's change against --baseline, and write the study (runs.csv, summary.csv with 95%
confidence intervals, study.json, study.png) and compare.md into --out. Seeds default to 1001-1003, which
training never uses. Rerunning into the same --out resumes."""

EPILOG = """\
examples:
  soc-emu compare --out results/compare
  soc-emu compare --scenarios noise0 --rates 25,90 --seeds 1 --jobs 50 --out /tmp/quick
  soc-emu compare --schedulers etf,heft,deepsocs --model runs/deepsocs/best.pt --workers 2 --out results/compare
  soc-emu compare --backend ray --address 127.0.0.1:6379 --out results/compare
"""

#: Spec keys of the compare preset and the flags that set them (for error messages).
FLAG_OF = {"schedulers": "--schedulers", "seeds": "--seeds", "jobs": "--jobs"}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``compare``."""
    p = subparsers.add_parser("compare", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--platform", default="hetero", metavar="NAME|FILE", help="platform (default: hetero)")
    p.add_argument("--workload", default="ds3_mix", metavar="NAME|FILE", help="workload (default: ds3_mix)")
    p.add_argument("--schedulers", default=None, metavar="NAME[,...]",
                   help="schedulers to compare (default: every registered one meant for comparisons; "
                        "see `soc-emu list schedulers`)")
    p.add_argument("--baseline", default="heft", metavar="NAME",
                   help="scheduler the others' changes are measured against (default: heft)")
    p.add_argument("--tolerance", type=float, default=0.02, metavar="FRACTION",
                   help="the verdict says whether each scheduler stays within this of the baseline (default 0.02)")
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
    p.add_argument("--model", default=None, metavar="PATH",
                   help="checkpoint for every compared scheduler that takes a model_path (default: each one's own)")
    add_backend_arguments(p)
    p.add_argument("--out", default="results/compare", metavar="DIR", type=output_dir_arg,
                   help="output directory (default results/compare)")
    p.add_argument("--no-plot", action="store_true", help="skip study.png")
    p.set_defaults(handler=run)
    return p


def compare_study(args: argparse.Namespace) -> tuple:  # type: ignore[type-arg]
    """The study spec the flags describe, and the scheduler labels in table order."""
    from soc_emu.errors import SocEmuError
    from soc_emu.study.presets import CompareOptions, compare_spec, scheduler_entries
    from soc_emu.study.spec import parse_spec

    failures = number_list(args.failures, float, "--failures", positive=True)
    if len(failures) != 2:
        raise SocEmuError("expected MTBF_US,REPAIR_US", source="--failures")
    if args.schedulers is None:
        from soc_emu.schedulers.registry import default_comparison_names

        names = tuple(default_comparison_names())
    else:
        names = name_list(args.schedulers, "--schedulers")
    options = CompareOptions(
        platform=args.platform, workload=args.workload,
        schedulers=tuple(scheduler_entries(names, model_path=args.model)),
        scenarios=name_list(args.scenarios, "--scenarios"),
        rates=number_list(args.rates, float, "--rates", positive=True),
        seeds=number_list(args.seeds, int, "--seeds"), jobs=args.jobs, failures=(failures[0], failures[1]),
        unseen_platform=args.unseen_platform, unseen_workload=args.unseen_workload,
        unseen_rates=number_list(args.unseen_rates, float, "--unseen-rates", positive=True),
        unseen_mix=args.unseen_mix,
    )
    data = compare_spec(options)
    return parse_spec({}, source="compare", overrides=data, flag_of=FLAG_OF), list(names)


def run(args: argparse.Namespace) -> int:
    """Run the comparison, print the table and the verdict, write the files."""
    from soc_emu.cli.study_cmd import run_spec
    from soc_emu.output.files import atomic_write_text
    from soc_emu.study.report import against_best_other, comparison_table, verdict

    spec, names = compare_study(args)
    result = run_spec(spec, args, args.out)
    baseline = args.baseline if args.baseline in names else None
    table = comparison_table(result.summary, names, baseline)
    judged = (verdict(result.summary, names, baseline, args.tolerance) if baseline
              else "no baseline among the schedulers")
    judged += "\n\n" + against_best_other(result.summary, names)
    out = result.paths["runs"].parent
    result.paths["markdown"] = out / "compare.md"
    atomic_write_text(result.paths["markdown"], table + "\n\n" + judged + "\n")
    if not args.no_plot:
        from soc_emu.study.plots import plot_study

        result.paths["plot"] = plot_study(result.rows, out / "study.png", title="soc-emu compare")
    print(table)
    print()
    print(judged)
    for row in result.failed:
        print(f"run failed: {row['scenario']} {row['scheduler']} rate {row['rate']} seed {row['seed']}: {row['error']}")
    print(f"\nwritten: {', '.join(str(p) for p in result.paths.values())}")
    return 0
