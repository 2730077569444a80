"""Confidence intervals over seeds, and the per-point summary of a study (mean and 95% CI of each metric).

The interval of a mean over ``n`` seeds is ``mean +- t(0.975, n-1) * s / sqrt(n)`` (Student's t, sample
standard deviation ``s``). The t quantile comes from the regularised incomplete beta function (a
continued fraction, as in Numerical Recipes), inverted by bisection: no SciPy needed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

#: Columns that say which curve and point of a plot a run belongs to; the seed is what a point averages.
PANEL_COLUMNS: tuple[str, ...] = ("scenario", "platform", "workload", "noise", "failures", "max_jobs", "drop",
                                  "binding", "shared_bus", "jobs", "duration_us", "governor")
POINT_COLUMNS: tuple[str, ...] = (*PANEL_COLUMNS, "scheduler", "rate_jobs_per_ms")
#: Metrics the summary gives a mean and a confidence interval for.
SUMMARY_METRICS: tuple[str, ...] = ("mean_latency_us", "p95_latency_us", "throughput_jobs_per_ms",
                                    "mean_utilization", "jobs_completed", "jobs_dropped", "energy_total_uj")


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile (``0.5 < p < 1``) of Student's t distribution with ``df`` degrees of freedom."""
    if not 0.5 < p < 1 or df < 1:
        raise ValueError(f"need 0.5 < p < 1 and df >= 1, got p={p}, df={df}")
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def t_cdf(t: float, df: int) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float | None]:
    """Mean of ``values`` and the half-width of its two-sided ``confidence`` interval (``None`` with one
    value: one seed says nothing about the spread)."""
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = math.fsum(values) / n
    if n == 1:
        return mean, None
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, t_quantile(0.5 + confidence / 2.0, n - 1) * sd / math.sqrt(n)


def summarize(rows: Iterable[dict[str, Any]], metrics: Sequence[str] = SUMMARY_METRICS) -> list[dict[str, Any]]:
    """One row per plot point (:data:`POINT_COLUMNS`) with ``seeds`` and, per metric, ``<metric>`` (mean
    over seeds), ``<metric>_ci95`` (half-width) and the per-PE-type utilisation means. Failed runs and
    missing values are left out of the means."""
    import json

    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("error"):
            continue
        groups.setdefault(tuple(row.get(c) for c in POINT_COLUMNS), []).append(row)
    out = []
    for point, members in groups.items():
        summary: dict[str, Any] = dict(zip(POINT_COLUMNS, point))
        summary["seeds"] = len(members)
        for metric in metrics:
            values = [float(r[metric]) for r in members if r.get(metric) is not None]
            mean, half = mean_ci(values) if values else (None, None)
            summary[metric], summary[f"{metric}_ci95"] = mean, half
        by_type: dict[str, list[float]] = {}
        for r in members:
            details = r.get("details")
            details = json.loads(details) if isinstance(details, str) else (details or {})
            for pe_type, value in (details.get("utilization_by_type") or {}).items():
                if value is not None:
                    by_type.setdefault(pe_type, []).append(float(value))
        summary["utilization_by_type"] = {t: mean_ci(v)[0] for t, v in sorted(by_type.items())}
        out.append(summary)
    return out
