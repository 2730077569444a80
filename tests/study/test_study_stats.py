"""Confidence intervals over seeds, checked against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from soc_emu.study.stats import mean_ci, summarize, t_cdf, t_quantile

#: Two-sided 95% Student t critical values t(0.975, df), as published in t tables (e.g. the NIST/SEMATECH
#: e-Handbook, section 1.3.6.7.2), to more digits.
T_TABLE = {1: 12.706204736174698, 2: 4.302652729749464, 3: 3.182446305284263, 4: 2.7764451051977987,
           5: 2.570581835636314, 9: 2.2621571627982053, 30: 2.0422724563012373, 120: 1.9799304050824413}


@pytest.mark.parametrize("df", sorted(T_TABLE))
def test_t_quantile_matches_the_table(df: int) -> None:
    assert t_quantile(0.975, df) == pytest.approx(T_TABLE[df], rel=1e-9)
    assert t_cdf(T_TABLE[df], df) == pytest.approx(0.975, abs=1e-12)


def test_t_cdf_of_one_degree_is_the_cauchy_cdf() -> None:
    for t in (-3.0, -0.5, 0.0, 0.7, 5.0):  # Student t with df=1 is Cauchy: 1/2 + atan(t)/pi
        assert t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-13)


def test_mean_ci_by_hand() -> None:
    # 1, 2, 3, 4: mean 2.5, sample sd sqrt(5/3), n = 4, t(0.975, 3) = 3.182446305284263
    mean, half = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert half == pytest.approx(3.182446305284263 * math.sqrt(5 / 3) / 2, rel=1e-12)
    assert mean_ci([7.0]) == (7.0, None)


def test_summary_bands_equal_a_numpy_computation() -> None:
    rng = np.random.default_rng(5)
    rows = []
    for sched in ("a", "b"):
        for rate in (1.0, 2.0):
            for seed in range(5):
                rows.append({"scheduler": sched, "rate_jobs_per_ms": rate, "seed": seed, "scenario": "s",
                             "mean_latency_us": float(rng.gamma(2.0, 50.0)), "p95_latency_us": 1.0,
                             "error": None, "details": '{"utilization_by_type": {"cpu": 0.5}}'})
    rows.append({**rows[0], "error": "RuntimeError: boom", "mean_latency_us": None})  # failed runs are left out
    for point in summarize(rows):
        values = np.array([r["mean_latency_us"] for r in rows[:-1] if r["scheduler"] == point["scheduler"]
                           and r["rate_jobs_per_ms"] == point["rate_jobs_per_ms"]])
        assert point["seeds"] == 5
        assert point["mean_latency_us"] == pytest.approx(values.mean(), rel=1e-12)
        expected = T_TABLE[4] * values.std(ddof=1) / math.sqrt(5)
        assert point["mean_latency_us_ci95"] == pytest.approx(expected, rel=1e-9)
        assert point["p95_latency_us_ci95"] == 0.0 and point["utilization_by_type"] == {"cpu": 0.5}
