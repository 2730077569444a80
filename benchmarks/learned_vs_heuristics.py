"""Learned checkpoints against every registered heuristic on held-out seeds (the issue-11 scenarios).

One study (:mod:`soc_emu.study`, local backend) of every heuristic ``soc-emu compare`` runs by default and
each ``--models`` checkpoint (as ``deepsocs``); prints each scenario's best heuristic and every model's
change against it. Takes minutes: a benchmark, not a test.

``--ablate-pe-head`` also runs every model that has a PE head with that head removed (the earliest-finish
rule maps its tasks instead; same weights otherwise), to show what the learned PE choice adds.

    python benchmarks/learned_vs_heuristics.py --workers 2 --models agents/checkpoints/deepsocs_hetero.pt \
        --out results/learned_vs_heuristics.json
"""

from __future__ import annotations

import argparse
import inspect
import json
import time
from pathlib import Path

import numpy as np

from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.ppo import FAILURE_MTBF_US, FAILURE_REPAIR_US
from soc_emu.schedulers.registry import default_comparison_names, scheduler_class
from soc_emu.study import parse_spec, run_study

#: name: (platform, workload, rate jobs/ms, noise rsd, failures)
SCENARIOS: dict[str, tuple[str, str, float, float, bool]] = {
    "hetero@25+noise0.3": ("hetero", "ds3_mix", 25.0, 0.3, False),
    "hetero@70+noise0.3": ("hetero", "ds3_mix", 70.0, 0.3, False),
    "hetero@90+noise0.3": ("hetero", "ds3_mix", 90.0, 0.3, False),
    "hetero@70+failures": ("hetero", "ds3_mix", 70.0, 0.0, True),
    "hetero@90+failures": ("hetero", "ds3_mix", 90.0, 0.0, True),
    "fpga_soc/dnn_kws@2": ("fpga_soc", "dnn_kws", 2.0, 0.0, False),
    "fpga_soc/dnn_vision@1": ("fpga_soc", "dnn_vision", 1.0, 0.0, False),
    "ds3@20": ("ds3", "ds3_mix", 20.0, 0.0, False),
    "ds3@30": ("ds3", "ds3_mix", 30.0, 0.0, False),
}


def without_pe_head(model: str, out_dir: Path) -> str | None:
    """A copy of checkpoint ``model`` without its PE head (None when it has none), written to ``out_dir``."""
    loaded = load_checkpoint(model)
    if loaded.net.pe_head is None:
        return None
    from dataclasses import replace

    from agents.model import DeepSoCSNet

    net = DeepSoCSNet(replace(loaded.net.config, pe_head=False))
    net.load_state_dict({k: v for k, v in loaded.net.state_dict().items() if not k.startswith("pe_head.")})
    path = out_dir / f"{Path(model).stem}-eft.pt"
    save_checkpoint(path, net, loaded.rule, info=loaded.info | {"ablation": "PE head removed"})
    return str(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="", help="comma-separated checkpoint paths")
    ap.add_argument("--heuristics", default="all", help="'all' (every heuristic compare runs by default), 'none', or a comma list")
    ap.add_argument("--scenarios", default="all", help="comma list of scenario names (default all)")
    ap.add_argument("--seeds", default="1001,1002,1003")
    ap.add_argument("--jobs", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help="JSON file of the mean latencies (merged with an existing one)")
    ap.add_argument("--ablate-pe-head", action="store_true", help="also run each PE-head model without its PE head")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    names = list(SCENARIOS) if args.scenarios == "all" else args.scenarios.split(",")
    heuristic_names = [n for n in default_comparison_names() if "model_path" not in inspect.signature(scheduler_class(n)).parameters]
    if args.heuristics == "all":
        heuristics = heuristic_names
    else:
        heuristics = [] if args.heuristics == "none" else args.heuristics.split(",")
    models = [m for m in args.models.split(",") if m]
    if args.ablate_pe_head:
        ablation_dir = Path(args.out).parent if args.out else Path("results")
        ablation_dir.mkdir(parents=True, exist_ok=True)
        models += [p for p in (without_pe_head(m, ablation_dir) for m in models) if p is not None]
    entries = heuristics + [{"name": "deepsocs", "options": {"model_path": m}, "label": Path(m).stem} for m in models]
    study_scenarios = []
    for sc in names:
        platform, workload, rate, noise, failures = SCENARIOS[sc]
        entry = {"name": sc, "platforms": [platform], "workloads": [workload], "rates": [rate], "noise": [noise]}
        if failures:
            entry["failures"] = [{"mtbf_us": FAILURE_MTBF_US, "repair_us": FAILURE_REPAIR_US}]
        study_scenarios.append(entry)
    spec = parse_spec({"name": "learned_vs_heuristics", "seeds": seeds, "jobs": args.jobs, "schedulers": entries,
                       "scenarios": study_scenarios})
    t0 = time.monotonic()
    rows = run_study(spec, workers=args.workers).rows
    results: dict[str, dict[str, float]] = {}
    if args.out and Path(args.out).is_file():
        results = json.loads(Path(args.out).read_text())
    for sc in names:
        for label in {r["scheduler"] for r in rows if r["scenario"] == sc}:
            values = [r["mean_latency_us"] for r in rows if r["scenario"] == sc and r["scheduler"] == label]
            results.setdefault(sc, {})[label] = float(np.mean(values))
    print(f"{len(rows)} runs in {time.monotonic() - t0:.0f} s; seeds {seeds}, {args.jobs} jobs per run")
    for sc, row in results.items():
        known = {k: v for k, v in row.items() if k in heuristic_names}
        best = min(known, key=known.__getitem__) if known else None
        cells = "  ".join(f"{k} {v:.1f}" for k, v in sorted(row.items(), key=lambda kv: kv[1]))
        vs = "  ".join(f"{k} {100 * (v / known[best] - 1):+.1f}%" for k, v in row.items() if best and k not in known)
        print(f"{sc:<24} best heuristic {best}; {cells}" + (f"  | vs best: {vs}" if vs else ""))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
