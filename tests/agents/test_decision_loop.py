"""One decision loop: the ``deepsocs`` scheduler under ``simulate`` and the same network in a training
rollout (and the engine's :func:`decision_points` under both) make the same decisions for a seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agents.checkpoint import load_checkpoint
from agents.rollout import LatencyArea, run_episode
from agents.scheduler import DeepSoCSScheduler
from soc_emu.engine.options import FailureModel, RunOptions
from soc_emu.engine.simulation import Simulation, decision_points, simulate
from soc_emu.runner import ArrivalOverrides, apply_overrides, resolve_scenario


class CountingScheduler(DeepSoCSScheduler):
    """``deepsocs`` counting the assignments it makes."""

    assignments = 0

    def decide(self, view):  # type: ignore[no-untyped-def]
        out = super().decide(view)
        self.assignments += len(out)
        return out


@pytest.mark.parametrize("failures", [None, FailureModel(mtbf_us=300.0, repair_us=1_000.0)])
def test_deepsocs_under_simulate_and_in_a_rollout_decide_alike(small_checkpoint: Path, failures: FailureModel | None) -> None:
    """Greedy rollout of a network = the ``deepsocs`` scheduler with that network under ``simulate``: the
    same job latencies from the same number of assignments. With PE failures (every PE down most of the time)
    a decision point may offer no candidate (whether one does depends on the feature set's decision rule);
    both drivers pass such points alike."""
    platform, workload = resolve_scenario("hetero", "ds3_mix")
    workload = apply_overrides(workload, ArrivalOverrides(rate_jobs_per_ms=60.0))
    options = RunOptions(seed=11, num_jobs=25, noise_rsd=0.2, failures=failures)
    loaded = load_checkpoint(small_checkpoint)

    area = LatencyArea()
    scheduler = CountingScheduler(loaded=loaded)
    simulate(platform, workload, scheduler, options, observers=[area])
    episode = run_episode(platform, workload, options, loaded.net, loaded.rule, mode="greedy")

    latencies = np.asarray(area.latencies)
    assert episode.jobs == len(latencies) == 25
    assert episode.mean_latency_us == float(latencies.mean())
    assert episode.p95_latency_us == float(np.percentile(latencies, 95))
    assert len(episode.steps) == scheduler.assignments  # the same decision points, answered alike


def test_an_unanswered_decision_point_is_an_error_not_a_loop() -> None:
    platform, workload = resolve_scenario("hetero", "ds3_mix")
    sim = Simulation(platform, workload, RunOptions(seed=0, num_jobs=3))
    points = decision_points(sim)
    next(points)
    with pytest.raises(RuntimeError, match="not answered"):
        next(points)
