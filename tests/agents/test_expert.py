"""The agent's features and teacher use the shared estimates: ranks as HEFT's (Topcuoglu's published
values), EFT PEs and labels as the registered ``srpt_eft`` heuristic's."""

from __future__ import annotations

import numpy as np
import pytest

from agents.expert import Expert
from agents.features import NODE_COL, DecisionRule, Featurizer, log_time
from agents.rollout import LatencyArea, run_episode
from soc_emu.engine.simulation import RunOptions, Simulation, simulate
from soc_emu.runner import ArrivalOverrides, apply_overrides, resolve_scenario
from soc_emu.schedulers import make_scheduler
from soc_emu.schedulers.heft_plan import CostModel
from tests.emu.test_estimates import _two_cluster_platform
from tests.emu.test_heft_plan import PAPER_RANKS, topcuoglu_graph, topcuoglu_platform
from soc_emu.model import Edge, Task, TaskGraph


def test_rank_feature_is_heft_rank_on_topcuoglu() -> None:
    stat = Featurizer(topcuoglu_platform()).statics(topcuoglu_graph())
    heft = CostModel(topcuoglu_platform()).info(topcuoglu_graph()).ranks
    for task, rank in PAPER_RANKS.items():
        assert stat.rank_u[task - 1] == pytest.approx(rank, abs=1e-3)
        assert stat.rank_u[task - 1] == heft[task - 1]
    np.testing.assert_allclose(stat.static_x[:, NODE_COL["rank_u"]], log_time(np.array(heft)))


def test_rank_feature_uses_heft_mean_communication_with_unequal_links() -> None:
    """mean latency + volume / mean bandwidth, not volume x mean(1 / bandwidth)."""
    graph = TaskGraph("g", (Task(0, "a", "k"), Task(1, "b", "m")), (Edge(0, 1, 12.0),))
    stat = Featurizer(_two_cluster_platform()).statics(graph)
    assert stat.rank_u.tolist() == list(CostModel(_two_cluster_platform()).info(graph).ranks)


def _scenario(rate: float):  # type: ignore[no-untyped-def]
    platform, workload = resolve_scenario("hetero", "ds3_mix")
    return platform, apply_overrides(workload, ArrivalOverrides(rate_jobs_per_ms=rate))


def test_labels_are_the_heuristics_decisions_and_features_agree_with_its_estimates() -> None:
    platform, workload = _scenario(80.0)
    sim = Simulation(platform, workload, RunOptions(seed=5, num_jobs=40, noise_rsd=0.2))
    heuristic = make_scheduler("srpt_eft")
    heuristic.reset(platform, sim.scheduler_rng())
    featurizer = Featurizer(platform, DecisionRule())
    expert = Expert(platform)
    states = 0
    view = sim.next_decision()
    while view is not None:
        (a,) = heuristic.decide(view)
        obs = featurizer.observe(view)
        label = expert.label(view, obs)
        assert label is not None
        row = int(obs.candidates[label.action])
        assert obs.refs[row] == a.task and label.pe == a.pe
        # The featurizer's own EFT PE (vectorised estimates) is the heuristic's PE.
        assert int(obs.candidate_pe[label.action]) == a.pe
        assert label.priority == pytest.approx(float(log_time(a.priority)))
        states += 1
        sim.submit([a])
        view = sim.next_decision()
    assert states > 200


def test_expert_episodes_are_srpt_eft_runs() -> None:
    platform, workload = _scenario(70.0)
    options = RunOptions(seed=9, num_jobs=60, noise_rsd=0.3)
    ep = run_episode(platform, workload, options, None, DecisionRule(), mode="expert")
    area = LatencyArea()
    simulate(platform, workload, make_scheduler("srpt_eft"), options, observers=[area])
    assert ep.mean_latency_us == pytest.approx(area.finished_latency / area.jobs_finished, rel=1e-12)
