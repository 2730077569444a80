"""``soc-emu train``: train the learned DeepSoCS scheduler (imitation warm start, then policy gradient).

Module level stays cheap (argparse only); torch and :mod:`agents` are imported inside :func:`run`.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from soc_emu import limits
from soc_emu.cli.arguments import add_backend_arguments, backend_from_args, check_ranges, number_list, output_dir_arg
from soc_emu.limits import Range

if TYPE_CHECKING:
    from soc_emu.study.backends import Backend

HELP = "train the learned scheduler (DeepSoCS): imitation warm start, then REINFORCE"

DESCRIPTION = """\
Train the DeepSoCS agent on a platform and workload. Phase 1 imitates the srpt_eft heuristic (shortest
remaining job first with earliest-finish-time mapping) with DAgger; phase 2 fine-tunes with REINFORCE and Decima's
input-dependent baseline over parallel rollouts that share an arrival sequence, with a curriculum over
arrival rates. Writes train_log.csv, checkpoint.pt (latest, for --resume) and best.pt (best greedy
evaluation) into --out. The same --seed gives the same run, on any backend and worker count. Episodes run
on the study backends: local worker processes (--backend local, default) or Ray tasks (--backend ray, in
this process or on a cluster with --address). --finetune instead runs PPO (GAE, value head) from a
checkpoint within --time-budget and tests the result on held-out seeds against every heuristic."""

EPILOG = """\
examples:
  soc-emu train --out runs/deepsocs
  soc-emu train --out runs/deepsocs --time-budget 40
  soc-emu train --out runs/deepsocs --resume
  soc-emu train --out runs/deepsocs --backend ray --address 127.0.0.1:6379   # rollouts on a Ray cluster
  cp runs/deepsocs/best.pt agents/checkpoints/deepsocs_hetero.pt   # ship it
  soc-emu train --finetune --platform ds3 --rate-min 15 --rate-max 30 --time-budget 15 --out runs/ft_ds3
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``train`` and its options (defaults are those of :class:`agents.training.TrainConfig`)."""
    p = subparsers.add_parser("train", help=HELP, description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--platform", default="hetero", metavar="NAME|FILE", help="platform (default: hetero)")
    p.add_argument("--workload", default="ds3_mix", metavar="NAME|FILE", help="workload (default: ds3_mix)")
    p.add_argument("--out", default="runs/deepsocs", metavar="DIR", type=output_dir_arg,
                   help="output directory (default: runs/deepsocs)")
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
    ep.add_argument("--random-platforms", action="store_true",
                    help="every training episode runs on its own random variation of --platform (PE counts, types, "
                         "speeds, overheads, links); evaluations use --platform itself")
    ft = p.add_argument_group("fine-tuning with PPO (GAE, value head) from a checkpoint")
    ft.add_argument("--finetune", nargs="?", const="shipped", default=None, metavar="CHECKPOINT",
                    help="PPO from CHECKPOINT (default: the shipped one) on --platform/--workload or the --scenario list, "
                         "for --time-budget minutes (default 15), then a held-out test against every heuristic")
    ft.add_argument("--scenario", action="append", default=None, metavar="PLATFORM:WORKLOAD:RATE_MIN:RATE_MAX[:failures][:random]",
                    help="a training scenario (repeatable; 'random': random variations of PLATFORM); default: "
                         "--platform/--workload at --rate-min..--rate-max")
    ft.add_argument("--energy-weight", type=float, default=0.0, metavar="US_PER_UJ",
                    help="reward = -(latency + weight x energy above idle); default 0")
    ft.add_argument("--test-seeds", default="1001,1002,1003", metavar="SEED[,...]", help="held-out test seeds (default 1001,1002,1003)")
    ft.add_argument("--test-jobs", type=int, default=500, metavar="N", help="jobs per held-out test run (default 500)")
    add_backend_arguments(p)
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
    "workers": limits.WORKERS,
    "lr": Range(0.0, 1.0, low_open=True),
    "entropy": Range(0.0, 10.0),
    "eval_every": Range(1, 1_000_000, integer=True),
    "eval_jobs": Range(1, 100_000, "jobs", integer=True),
    "time_budget": Range(0.0, 1e6, "minutes", low_open=True),
    "energy_weight": Range(0.0, 1e6, "us per uJ"),
    "test_jobs": Range(1, 100_000, "jobs", integer=True),
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
    backend = backend_from_args(args)  # a bad --backend / --address fails here, before any work
    # Process-level, so set here at the entry and not in library code: one intra-op thread for the training
    # updates (the backends' workers get one thread each from their own initialisation).
    import torch

    torch.set_num_threads(1)
    if args.finetune is not None:
        return run_finetune(args, backend)
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
        workers=backend.workers,
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
        random_platforms=args.random_platforms,
    )

    def say(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    from soc_emu.interrupts import terminate_raises

    # SIGTERM stops the workers and exits 143 with one line, like Ctrl-C (130); entering the backend joins
    # (or starts) Ray or fails on an unreachable --address before the training starts.
    with terminate_raises(), backend:
        result = Trainer(config, args.out, progress=not args.no_progress, log=say, backend=backend).run(resume=args.resume)
    best = f"{result.best_eval_latency_us:.2f} us" if result.best_eval_latency_us is not None else "n/a"
    expert = f"{result.expert_eval_latency_us:.2f} us" if result.expert_eval_latency_us is not None else "n/a"
    print(f"trained in {result.elapsed_s / 60:.1f} min; best greedy evaluation latency {best} (expert {expert})")
    print(f"best model: {result.best}\nlatest checkpoint: {result.checkpoint}\nlog: {result.log}")
    return 0


def _scenarios(args: argparse.Namespace) -> tuple:  # type: ignore[type-arg]
    """The ``--scenario`` list (or --platform/--workload at --rate-min..--rate-max), each checked to load."""
    from agents.ppo import Scenario
    from soc_emu.errors import SocEmuError
    from soc_emu.runner import resolve_scenario

    if not args.scenario:
        return (Scenario(args.platform, args.workload, args.rate_min, args.rate_max, args.noise,
                         random_platforms=args.random_platforms),)
    out = []
    for text in args.scenario:
        parts = text.split(":")
        flags = parts[4:]
        try:
            if len(parts) < 4 or len(set(flags)) != len(flags) or not set(flags) <= {"failures", "random"}:
                raise ValueError
            platform, workload, lo, hi = parts[0], parts[1], float(parts[2]), float(parts[3])
        except ValueError:
            raise SocEmuError(f"expected PLATFORM:WORKLOAD:RATE_MIN:RATE_MAX[:failures][:random], got {text!r}",
                              source="--scenario") from None
        if not 0 < lo <= hi:
            raise SocEmuError(f"need 0 < RATE_MIN <= RATE_MAX, got {text!r}", source="--scenario")
        for rate in (lo, hi):
            limits.RATE_JOBS_PER_MS.check(rate, "--scenario")
        resolve_scenario(platform, workload)
        out.append(Scenario(platform, workload, lo, hi, args.noise, "failures" in flags, "random" in flags))
    return tuple(out)


def run_finetune(args: argparse.Namespace, backend: Backend) -> int:
    """``--finetune``: PPO from a checkpoint within a time budget, then the held-out test."""
    from agents.finetune import finetune

    budget_min = args.time_budget if args.time_budget is not None else 15.0
    checkpoint = None if args.finetune == "shipped" else args.finetune

    def say(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    from soc_emu.interrupts import terminate_raises

    with terminate_raises(), backend:  # SIGTERM: the workers stop, exit 143 with one line, like Ctrl-C (130)
        result = finetune(scenarios=_scenarios(args), out=args.out, checkpoint=checkpoint, time_budget_s=budget_min * 60.0,
                          seed=args.seed, workers=backend.workers, backend=backend, test_seeds=number_list(args.test_seeds, int, "--test-seeds", limit=TRAIN_RANGES["seed"]),
                          test_jobs=args.test_jobs, energy_weight=args.energy_weight, jobs_per_episode=args.jobs_per_episode,
                          episodes_per_iteration=args.rollouts, eval_jobs=args.eval_jobs, eval_every=args.eval_every, say=say)
    print(f"fine-tuned in {result.elapsed_s / 60:.1f} min; best model: {result.best}")
    for name, comparison in result.comparisons.items():
        print(f"{name} (held-out mean latency):")
        print("\n".join(comparison.lines()))
    return 0
