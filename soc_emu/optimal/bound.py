"""Grading schedulers against the optimum on a DAG suite (what ``soc-emu bound`` reports).

A suite is a list of workload specs, each one task graph: ``random:`` specs drawn from generator
parameters (:func:`random_suite`) or files (:func:`folder_suite`: GraphML, node-link JSON, TOML or DS3 job
files). The study runner executes one single-job run per (instance, scheduler), the graded heuristics and
the ``optimal`` scheduler alike, so every figure is what the engine measured; the optimal run also reports
the solver's status and bound (its ``scheduler_stats``). :func:`grade` turns those runs into one row per
(instance, graded scheduler) with the gaps; :func:`summarize_gaps` and :func:`plot_gaps` condense them.

Gaps
    ``gap = makespan / best - 1`` where ``best`` is the optimal scheduler's makespan (the optimum when the
    solver proved it, else the best schedule found); ``gap_to_bound = makespan / bound - 1`` uses the
    solver's lower bound instead, so the true gap lies between the two.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from soc_emu.errors import SocEmuError

__all__ = ["DAG_SUFFIXES", "GRADE_COLUMNS", "OPTIMAL_LABEL", "folder_suite", "grade", "plot_gaps", "random_suite",
           "summarize_gaps"]

#: Label of the optimal scheduler's runs in a bound study.
OPTIMAL_LABEL = "optimal"
#: Files a folder suite takes.
DAG_SUFFIXES = (".graphml", ".json", ".toml", ".txt")
#: Columns of :func:`grade`'s rows (and of bound.csv).
GRADE_COLUMNS = ("instance", "tasks", "ccr", "scheduler", "makespan_us", "best_us", "bound_us", "proven_optimal",
                 "gap", "gap_to_bound", "solve_seconds", "solve_deterministic_s")


def random_suite(*, instances: int, tasks: tuple[int, int], ccrs: Sequence[float], het: float = 1.0,
                 fanout: int = 3, seed: int = 0) -> list[str]:
    """``instances`` random DAG specs per CCR; each instance draws its task count uniformly from ``tasks``
    (inclusive) and has its own graph seed; instance ``i`` has the same size and seed at every CCR."""
    low, high = tasks
    if not 1 <= low <= high:
        raise SocEmuError(f"expected 1 <= MIN <= MAX, got {low}-{high}", source="--tasks")
    if instances < 1:
        raise SocEmuError(f"must be >= 1, got {instances}", source="--instances")
    sizes = np.random.default_rng(seed).integers(low, high + 1, size=instances)
    return [f"random:tasks={int(n)},ccr={ccr:g},het={het:g},fanout={fanout},seed={seed * 100003 + i}"
            for ccr in ccrs for i, n in enumerate(sizes)]


def folder_suite(folder: str) -> list[str]:
    """The DAG files of ``folder`` (sorted by name)."""
    path = Path(folder)
    if not path.is_dir():
        raise SocEmuError("not a folder", source=f"--dags {folder}")
    files = sorted(str(p) for p in path.iterdir() if p.is_file() and p.suffix.lower() in DAG_SUFFIXES)
    if not files:
        raise SocEmuError(f"no DAG files ({', '.join(DAG_SUFFIXES)}) in the folder", source=f"--dags {folder}")
    return files


def _ccr(instance: str) -> float | None:
    for part in instance.partition(":")[2].split(","):
        key, _, value = part.partition("=")
        if key.strip() == "ccr":
            return float(value)
    return None


def _details(row: dict[str, Any]) -> dict[str, Any]:
    details = row.get("details") or {}
    return json.loads(details) if isinstance(details, str) else dict(details)


def grade(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (instance, graded scheduler) from a bound study's run rows (see the module docstring).

    Instances whose optimal run failed are left out; a failed heuristic run raises (it is a bug)."""
    by_instance: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_instance.setdefault(row["workload"], {})[row["scheduler"]] = row
    out = []
    for instance, runs in by_instance.items():
        best_row = runs.get(OPTIMAL_LABEL)
        if best_row is None or best_row.get("error"):
            continue
        best = float(best_row["mean_latency_us"])
        stats = _details(best_row).get("scheduler_stats", {})
        # The solver's figures are absolute times; the job's length is measured from its arrival.
        offset = stats["last_objective_us"] - best
        bound = stats["last_bound_us"] - offset
        for label, run in runs.items():
            if label == OPTIMAL_LABEL:
                continue
            if run.get("error"):
                raise SocEmuError(f"run of {label} on {instance} failed: {run['error']}", source="bound")
            makespan = float(run["mean_latency_us"])
            out.append({
                "instance": instance, "tasks": run["tasks_completed"], "ccr": _ccr(instance), "scheduler": label,
                "makespan_us": makespan, "best_us": best, "bound_us": bound,
                "proven_optimal": stats["last_status"] == "optimal",
                "gap": makespan / best - 1.0, "gap_to_bound": makespan / bound - 1.0 if bound > 0 else math.inf,
                "solve_seconds": stats["solver_wall_max_s"],
                "solve_deterministic_s": stats["solver_deterministic_mean_s"],
            })
    return out


def summarize_gaps(graded: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per scheduler and CCR (and over all CCRs, ``ccr = "all"``): instances, mean / median / max gap, the
    share of instances where the scheduler found an optimal (best) schedule, and the solver's share of
    proven optima and median solve time (wall and deterministic seconds)."""
    groups: dict[tuple[str, Any], list[dict[str, Any]]] = {}
    for row in graded:
        groups.setdefault((row["scheduler"], row["ccr"]), []).append(row)
        groups.setdefault((row["scheduler"], "all"), []).append(row)
    out = []
    for (scheduler, ccr), items in groups.items():
        gaps = [r["gap"] for r in items]
        out.append({
            "scheduler": scheduler, "ccr": ccr, "instances": len(items),
            "mean_gap": statistics.fmean(gaps), "median_gap": statistics.median(gaps), "max_gap": max(gaps),
            "share_at_best": sum(g <= 1e-9 for g in gaps) / len(gaps),
            "share_proven": sum(r["proven_optimal"] for r in items) / len(items),
            "median_solve_s": statistics.median(r["solve_seconds"] for r in items),
            "median_solve_deterministic_s": statistics.median(r["solve_deterministic_s"] for r in items),
        })
    order = {name: i for i, name in enumerate(dict.fromkeys(r["scheduler"] for r in graded))}
    return sorted(out, key=lambda s: (order[s["scheduler"]], s["ccr"] == "all", str(s["ccr"])))


def plot_gaps(graded: Sequence[dict[str, Any]], path: str | Path, *, title: str = "") -> Path:
    """Box plots of the gap (%) per scheduler, one group per CCR, into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    schedulers = list(dict.fromkeys(r["scheduler"] for r in graded))
    ccrs = sorted({r["ccr"] for r in graded}, key=lambda c: (c is None, c if c is not None else 0.0))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(schedulers) * len(ccrs)), 4.0))
    width = 0.8 / max(1, len(schedulers))
    for k, name in enumerate(schedulers):
        data = [[100 * r["gap"] for r in graded if r["scheduler"] == name and r["ccr"] == c] for c in ccrs]
        positions = [i + (k - (len(schedulers) - 1) / 2) * width for i in range(len(ccrs))]
        box = ax.boxplot(data, positions=positions, widths=width * 0.9, patch_artist=True, showfliers=True)
        for patch in box["boxes"]:
            patch.set_facecolor(colours[k % len(colours)])
        ax.plot([], [], color=colours[k % len(colours)], linewidth=8, label=name)
    ax.set_xticks(range(len(ccrs)), [f"CCR {c:g}" if c is not None else "files" for c in ccrs])
    ax.set_ylabel("makespan above the optimum (%)")
    ax.set_title(title or "gap to the CP-SAT optimum")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
