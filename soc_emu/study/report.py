"""Text reports of a comparison study: a Markdown table of latency per scheduler with each scheduler's change
against a baseline, a verdict (worst and best change, and whether a scheduler stays within a tolerance
of the baseline everywhere), and each scheduler against the best of the others at every point. The baseline is whatever scheduler label the caller names; nothing here
knows any scheduler."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Columns that identify a table line (one per scenario panel and rate).
LINE_COLUMNS = ("scenario", "platform", "workload", "noise", "failures", "rate_jobs_per_ms")


def changes_vs(summary: Sequence[dict[str, Any]], baseline: str) -> dict[tuple[Any, ...], dict[str, float]]:
    """Per table line, each scheduler's relative change in mean latency against ``baseline``
    (negative: lower latency than the baseline)."""
    lines = _lines(summary)
    out: dict[tuple[Any, ...], dict[str, float]] = {}
    for key, cells in lines.items():
        ref = cells.get(baseline, {}).get("mean_latency_us")
        if not ref:
            continue
        out[key] = {name: cell["mean_latency_us"] / ref - 1.0 for name, cell in cells.items()
                    if name != baseline and cell.get("mean_latency_us") is not None}
    return out


def comparison_table(summary: Sequence[dict[str, Any]], schedulers: Sequence[str], baseline: str | None) -> str:
    """Markdown: one line per (scenario, rate); mean / p95 latency (us, means over seeds) per scheduler,
    then each other scheduler's change in mean latency against ``baseline``."""
    lines = _lines(summary)
    others = [s for s in schedulers if baseline is not None and s != baseline]
    changes = changes_vs(summary, baseline) if baseline is not None else {}
    head = ["scenario", "rate (jobs/ms)", *(f"{s} mean / p95 (us)" for s in schedulers),
            *(f"{s} vs {baseline}" for s in others)]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, cells in lines.items():
        row = [str(key[0]), f"{key[-1]:g}"]
        for name in schedulers:
            c = cells.get(name)
            row.append(f"{c['mean_latency_us']:.1f} / {c['p95_latency_us']:.1f}"
                       if c and c.get("mean_latency_us") is not None else "-")
        for name in others:
            d = changes.get(key, {}).get(name)
            row.append(f"{100 * d:+.1f}%" if d is not None else "-")
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out)


def verdict(summary: Sequence[dict[str, Any]], schedulers: Sequence[str], baseline: str,
            tolerance: float = 0.02, shown: int = 3) -> str:
    """One line per scheduler: its worst and best change in mean latency against ``baseline``, and whether
    it is never worse than the baseline by more than ``tolerance`` (a fraction; at most ``shown`` of the
    points beyond it are listed)."""
    changes = changes_vs(summary, baseline)
    out = []
    for name in schedulers:
        points = [(d[name], key) for key, d in changes.items() if name in d]
        if name == baseline or not points:
            continue
        worst, best = max(points, key=lambda p: p[0]), min(points, key=lambda p: p[0])
        over = sorted((p for p in points if p[0] > tolerance), key=lambda p: -p[0])
        within = "yes" if not over else "no: " + ", ".join(_at(d, k) for d, k in over[:shown]) + (
            f" and {len(over) - shown} more" if len(over) > shown else "")
        out.append(f"{name} vs {baseline}: worst {_at(*worst)}, best {_at(*best)}; "
                   f"never more than {100 * tolerance:g}% worse: {within}")
    return "\n".join(out) if out else f"no scheduler to judge against {baseline}"


def against_best_other(summary: Sequence[dict[str, Any]], schedulers: Sequence[str]) -> str:
    """One line per scheduler: its change in mean latency against the best of the *other* schedulers at each
    point (the strongest rival, not a fixed baseline), as the mean, worst and best over the points, and
    the points where it beats every other scheduler by 5% or more."""
    out = []
    for name in schedulers:
        points = []
        for key, cells in _lines(summary).items():
            mine = cells.get(name, {}).get("mean_latency_us")
            rivals = [(c["mean_latency_us"], other) for other, c in cells.items()
                      if other != name and c.get("mean_latency_us") is not None]
            if mine is None or not rivals:
                continue
            best, rival = min(rivals)
            points.append((mine / best - 1.0, key, rival))
        if not points:
            continue
        worst, best = max(points, key=lambda p: p[0]), min(points, key=lambda p: p[0])
        wins = sum(1 for change, _, _ in points if change <= -0.05)
        mean = sum(change for change, _, _ in points) / len(points)
        out.append(f"{name} vs the best other scheduler: mean {100 * mean:+.1f}%, worst {_at(*worst[:2])} "
                   f"(vs {worst[2]}), best {_at(*best[:2])} (vs {best[2]}); 5% or more ahead at {wins} of "
                   f"{len(points)} points")
    return "\n".join(out)


def _at(change: float, key: tuple[Any, ...]) -> str:
    return f"{100 * change:+.1f}% ({key[0]} @ {key[-1]:g} jobs/ms)"


def _lines(summary: Sequence[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, dict[str, Any]]]:
    lines: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    for point in summary:
        if point.get("rate_jobs_per_ms") is None:
            continue
        key = tuple(point.get(c) for c in LINE_COLUMNS)
        lines.setdefault(key, {})[point["scheduler"]] = point
    return lines
