"""Gaps of schedulers to the optimum, from a bound study's run rows (what ``soc-emu bound`` reports).

The study runner executes one single-job run per (instance, scheduler), the graded heuristics and the
``optimal`` scheduler alike, so every figure is what the engine measured; the optimal run also reports the
solver's status and bound (its ``scheduler_stats``). :func:`grade` turns those runs into one row per
(instance, graded scheduler); :func:`summarize_gaps` condenses them per scheduler and CCR.

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
from typing import Any

from soc_emu.errors import SocEmuError

__all__ = ["GRADE_COLUMNS", "OPTIMAL_LABEL", "grade", "summarize_gaps"]

#: Label of the optimal scheduler's runs in a bound study.
OPTIMAL_LABEL = "optimal"
#: Columns of :func:`grade`'s rows (and of bound.csv).
GRADE_COLUMNS = ("instance", "tasks", "ccr", "scheduler", "makespan_us", "best_us", "bound_us", "proven_optimal",
                 "gap", "gap_to_bound", "solve_seconds", "solve_deterministic_s")


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
