"""Plots of a study: one row of three panels per scenario.

1. mean (solid) and p95 (dashed) job latency against arrival rate, one colour per scheduler, with 95%
   confidence bands over seeds (log y axis);
2. throughput against offered load (the arrival rate), with the line throughput = load;
3. utilisation per PE type at the scenario's highest rate (bars per scheduler, 95% CI whiskers).

A "scenario" here is one combination of :data:`soc_emu.study.stats.PANEL_COLUMNS`; its title is the
scenario name plus the values that vary between panels of the same name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from soc_emu.study.stats import PANEL_COLUMNS, mean_ci, summarize


def plot_study(rows: Sequence[dict[str, Any]], path: str | Path, *, title: str = "") -> Path:
    """Draw the study figure from its rows (typed, as :class:`StudyResult.rows`) into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = [s for s in summarize(rows) if s.get("rate_jobs_per_ms") is not None]
    panels = list(dict.fromkeys(tuple(s[c] for c in PANEL_COLUMNS) for s in summary))
    schedulers = list(dict.fromkeys(r["scheduler"] for r in rows))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colour = {name: colours[i % len(colours)] for i, name in enumerate(schedulers)}
    fig, axes = plt.subplots(max(1, len(panels)), 3, figsize=(16, 3.6 * max(1, len(panels))), squeeze=False)
    for ax_row, panel in zip(axes, panels):
        points = [s for s in summary if tuple(s[c] for c in PANEL_COLUMNS) == panel]
        label = _panel_label(panel, panels)
        _latency(ax_row[0], points, schedulers, colour, label)
        _throughput(ax_row[1], points, schedulers, colour, label)
        _utilisation(ax_row[2], rows, panel, schedulers, colour, label)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06 if handles else 0, 1, 0.97 if title else 1))
    out = Path(path)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def _series(points: list[dict[str, Any]], scheduler: str, metric: str) -> tuple[list[float], ...]:
    """x (rate), mean and CI half-width of ``metric`` for one scheduler, sorted by rate."""
    pts = sorted((p["rate_jobs_per_ms"], p[metric], p[f"{metric}_ci95"] or 0.0) for p in points
                 if p["scheduler"] == scheduler and p[metric] is not None)
    return tuple(list(v) for v in zip(*pts)) if pts else ([], [], [])


def _latency(ax: Any, points: list[dict[str, Any]], schedulers: list[str], colour: dict[str, str], label: str) -> None:
    """Mean and p95 latency with their bands; on the log axis a band's lower edge is clipped at half the
    smallest plotted value (a mean minus its half-width can be <= 0)."""
    positive = [p[m] for p in points for m in ("mean_latency_us", "p95_latency_us") if p[m] and p[m] > 0]
    floor = 0.5 * min(positive) if positive else 1e-3
    for name in schedulers:
        for metric, style, alpha in (("mean_latency_us", "-o", 0.25), ("p95_latency_us", "--", 0.12)):
            x, y, half = _series(points, name, metric)
            if not x:
                continue
            ax.plot(x, y, style, ms=3, color=colour[name],
                    label=f"{name} {'mean' if metric.startswith('mean') else 'p95'}")
            ax.fill_between(x, [max(a - b, floor) for a, b in zip(y, half)], [a + b for a, b in zip(y, half)],
                            color=colour[name], alpha=alpha, linewidth=0)
    ax.set_yscale("log")
    ax.set(title=f"{label}: latency (95% CI)", xlabel="arrival rate (jobs/ms)", ylabel="job latency (us)")
    ax.grid(True, alpha=0.3)


def _throughput(ax: Any, points: list[dict[str, Any]], schedulers: list[str], colour: dict[str, str],
                label: str) -> None:
    top = 0.0
    for name in schedulers:
        x, y, half = _series(points, name, "throughput_jobs_per_ms")
        if not x:
            continue
        ax.errorbar(x, y, yerr=half, fmt="-o", ms=3, capsize=2, color=colour[name])
        top = max(top, *x)
    if top:
        ax.plot([0, top], [0, top], ":", color="grey", label="throughput = load")
    ax.set(title=f"{label}: throughput", xlabel="offered load (jobs/ms)", ylabel="throughput (jobs/ms)")
    ax.grid(True, alpha=0.3)


def _utilisation(ax: Any, rows: Sequence[dict[str, Any]], panel: tuple[Any, ...], schedulers: list[str],
                 colour: dict[str, str], label: str) -> None:
    mine = [r for r in rows if not r.get("error") and tuple(r.get(c) for c in PANEL_COLUMNS) == panel
            and r.get("rate_jobs_per_ms") is not None]
    if not mine:
        ax.axis("off")
        return
    rate = max(r["rate_jobs_per_ms"] for r in mine)
    by: dict[tuple[str, str], list[float]] = {}
    for r in mine:
        if r["rate_jobs_per_ms"] != rate:
            continue
        details = json.loads(r["details"]) if isinstance(r["details"], str) else r["details"]
        for pe_type, value in (details.get("utilization_by_type") or {}).items():
            if value is not None:
                by.setdefault((r["scheduler"], pe_type), []).append(float(value))
    types = sorted({t for _, t in by})
    width = 0.8 / max(1, len(schedulers))
    for i, name in enumerate(schedulers):
        stats = [mean_ci(by[(name, t)]) if (name, t) in by else (0.0, None) for t in types]
        ax.bar([j + i * width for j in range(len(types))], [m for m, _ in stats], width,
               yerr=[h or 0.0 for _, h in stats], capsize=2, color=colour[name])
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(types))], types, rotation=30, fontsize=8)
    ax.set(title=f"{label}: utilisation per PE type at {rate:g} jobs/ms", ylabel="utilisation", ylim=(0, 1))
    ax.grid(True, axis="y", alpha=0.3)


def _panel_label(panel: tuple[Any, ...], panels: list[tuple[Any, ...]]) -> str:
    """The scenario name, plus the values that tell apart panels of the same name."""
    same = [p for p in panels if p[0] == panel[0]]
    varying = [i for i in range(1, len(PANEL_COLUMNS)) if len({p[i] for p in same}) > 1]
    extra = ", ".join(f"{PANEL_COLUMNS[i]}={panel[i]}" for i in varying)
    return f"{panel[0]} ({extra})" if extra else str(panel[0])
