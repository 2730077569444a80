"""``soc-emu train``: train the learned DeepSoCS scheduler (imitation warm start, then policy gradient).

Module level stays cheap (argparse only); torch and :mod:`agents` are imported inside :func:`run`.
"""

from __future__ import annotations

import argparse
import sys

from soc_emu.cli.arguments import check_ranges, number_list, output_dir_arg
from soc_emu.formats import limits
from soc_emu.formats.limits import Range

HELP = "train the learned scheduler (DeepSoCS): imitation warm start, then REINFORCE"

DESCRIPTION = """\
Train the DeepSoCS agent on a platform and workload. Phase 1 imitates an expert (shortest remaining job
first with earliest-finish-time mapping) with DAgger; phase 2 fine-tunes with REINFORCE and Decima's
input-dependent baseline over parallel rollouts that share an arrival sequence, with a curriculum over
arrival rates. Writes train_log.csv, checkpoint.pt (latest, for --resume) and best.pt (best greedy
evaluation) into --out. The same --seed gives the same run."""

EPILOG = """\
examples:
  soc-emu train --out runs/deepsocs
  soc-emu train --out runs/deepsocs --time-budget 40
  soc-emu train --out runs/deepsocs --resume
  cp runs/deepsocs/best.pt agents/checkpoints/deepsocs_hetero.pt   # ship it
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``train`` and its options (defaults are those of :class:`agents.training.TrainConfig`)."""
    p = subparsers.add_parser("train", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--platform", default="hetero", metavar="NAME|FILE", help="platform (default: hetero)")
    p.add_argument("--workload", default="ds3_mix", metavar="NAME|FILE", help="workload (default: ds3_mix)")
    p.add_argument("--out", default="runs/deepsocs", metavar="DIR", type=output_dir_arg, help="output directory (default: runs/deepsocs)")
    p.add_argument("--seed", type=int, default=0, help="seed of the whole run (default: 0)")
    p.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.pt")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it is off anyway when not a TTY)")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    ep = p.add_argument_group("episodes")
    ep.add_argument("--jobs-per-episode", type=int, default=100, metavar="N", help="jobs per training episode (default 100)")
    ep.add_argument("--rate-min", type=float, default=20.0, metavar="JOBS_PER_MS", help="curriculum start rate (default 20)")
    ep.add_argument("--rate-max", type=float, default=90.0, metavar="JOBS_PER_MS", help="curriculum top rate (default 90)")
    ep.add_argument("--noise", type=float, default=0.3, metavar="MAX_RSD",
                    help="each training episode draws its execution-time noise uniformly in [0, MAX_RSD] (default 0.3)")
    im = p.add_argument_group("imitation (phase 1)")
    im.add_argument("--expert-episodes", type=int, default=12, metavar="N")
    im.add_argument("--dagger-rounds", type=int, default=3, metavar="N")
    im.add_argument("--dagger-episodes", type=int, default=6, metavar="N")
    im.add_argument("--imitation-epochs", type=int, default=4, metavar="N")
    rl = p.add_argument_group("reinforcement learning (phase 2)")
    rl.add_argument("--rl-iterations", type=int, default=300, metavar="N")
    rl.add_argument("--rollouts", type=int, default=4, metavar="N", help="rollouts per iteration on one arrival sequence")
    rl.add_argument("--workers", type=int, default=2, metavar="N", help="rollout worker processes (default 2)")
    rl.add_argument("--lr", type=float, default=3e-4, help="RL learning rate (default 3e-4)")
    rl.add_argument("--entropy", type=float, nargs=2, default=(0.02, 0.001), metavar=("START", "END"),
                    help="entropy weight schedule (linear, default 0.02 -> 0.001)")
    rl.add_argument("--eval-every", type=int, default=10, metavar="N", help="greedy evaluation every N iterations")
    rl.add_argument("--eval-rates", default="25,70,90", metavar="JOBS_PER_MS[,...]", help="evaluation rates (default 25,70,90)")
    rl.add_argument("--eval-seeds", default="90001,90002", metavar="SEED[,...]", help="evaluation seeds (default 90001,90002)")
    rl.add_argument("--eval-jobs", type=int, default=100, metavar="N", help="jobs per evaluation episode (default 100)")
    rl.add_argument("--time-budget", type=float, default=None, metavar="MINUTES",
                    help="stop the RL phase after this much training time (checkpoints are kept)")
    m = p.add_argument_group("model")
    m.add_argument("--hidden", type=int, default=32)
    m.add_argument("--embed", type=int, default=16)
    m.add_argument("--mp-steps", type=int, default=3, help="message-passing steps (default 3)")
    m.add_argument("--pe-head", action="store_true", help="learn the PE choice too (default: earliest finish time)")
    p.set_defaults(handler=run)
    return p


#: Range of every numeric ``train`` flag (argparse ``dest`` names); the model sizes come from
#: :data:`agents.guards.MODEL_LIMITS`, shared with checkpoint loading.
TRAIN_RANGES: dict[str, Range] = {
    "seed": Range(0, 2**32 - 1, integer=True),
    "jobs_per_episode": Range(1, 100_000, "jobs", integer=True),
    "rate_min": limits.RATE_JOBS_PER_MS,
    "rate_max": limits.RATE_JOBS_PER_MS,
    "noise": limits.NOISE_RSD,
    "expert_episodes": Range(1, 10_000, integer=True),
    "dagger_rounds": Range(0, 1_000, integer=True),
    "dagger_episodes": Range(1, 10_000, integer=True),
    "imitation_epochs": Range(1, 1_000, integer=True),
    "rl_iterations": Range(0, 1_000_000, integer=True),
    "rollouts": Range(1, 1_024, integer=True),
    "workers": Range(1, 256, integer=True),
    "lr": Range(0.0, 1.0, low_open=True),
    "entropy": Range(0.0, 10.0),
    "eval_every": Range(1, 1_000_000, integer=True),
    "eval_jobs": Range(1, 100_000, "jobs", integer=True),
    "time_budget": Range(0.0, 1e6, "minutes", low_open=True),
}


def run(args: argparse.Namespace) -> int:
    """Train and print where the results are."""
    from agents.guards import MODEL_LIMITS
    from agents.training import TrainConfig, Trainer
    from soc_emu.errors import SocEmuError
    from soc_emu.output.files import prepare_output_dir

    check_ranges(args, {**TRAIN_RANGES, **MODEL_LIMITS})
    prepare_output_dir(args.out, "--out")

    if not args.noise >= 0:
        raise SocEmuError(f"must be >= 0, got {args.noise}", source="--noise")
    if args.time_budget is not None and not args.time_budget > 0:
        raise SocEmuError(f"must be > 0 minutes, got {args.time_budget}", source="--time-budget")
    # Fail on a bad platform/workload before starting workers.
    from soc_emu.runner import resolve_scenario

    resolve_scenario(args.platform, args.workload)
    config = TrainConfig(
        platform=args.platform,
        workload=args.workload,
        seed=args.seed,
        jobs_per_episode=args.jobs_per_episode,
        rate_min=args.rate_min,
        rate_max=args.rate_max,
        noise_max=args.noise,
        expert_episodes=args.expert_episodes,
        dagger_rounds=args.dagger_rounds,
        dagger_episodes=args.dagger_episodes,
        imitation_epochs=args.imitation_epochs,
        rl_iterations=args.rl_iterations,
        rollouts=args.rollouts,
        workers=args.workers,
        lr_rl=args.lr,
        entropy_start=args.entropy[0],
        entropy_end=args.entropy[1],
        eval_every=args.eval_every,
        eval_rates=number_list(args.eval_rates, float, "--eval-rates", limit=limits.RATE_JOBS_PER_MS),
        eval_seeds=number_list(args.eval_seeds, int, "--eval-seeds", limit=TRAIN_RANGES["seed"]),
        eval_jobs=args.eval_jobs,
        time_budget_s=args.time_budget * 60.0 if args.time_budget is not None else None,
        hidden=args.hidden,
        embed=args.embed,
        mp_steps=args.mp_steps,
        pe_head=args.pe_head,
    )

    def say(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    result = Trainer(config, args.out, progress=not args.no_progress, log=say).run(resume=args.resume)
    best = f"{result.best_eval_latency_us:.2f} us" if result.best_eval_latency_us is not None else "n/a"
    expert = f"{result.expert_eval_latency_us:.2f} us" if result.expert_eval_latency_us is not None else "n/a"
    print(f"trained in {result.elapsed_s / 60:.1f} min; best greedy evaluation latency {best} (expert {expert})")
    print(f"best model: {result.best}\nlatest checkpoint: {result.checkpoint}\nlog: {result.log}")
    return 0
