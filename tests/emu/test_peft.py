"""PEFT (soc_emu.schedulers.peft): the paper's example, and PEFT in the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from soc_emu.engine.invariants import InvariantChecker
from soc_emu.engine.options import RunOptions
from soc_emu.engine.simulation import simulate
from soc_emu.formats import load_platform, load_workload
from soc_emu.schedulers import make_scheduler
from soc_emu.schedulers.heft_plan import CostModel, heft_schedule
from soc_emu.schedulers.peft import PeftCostModel, peft_schedule

FIXTURES = Path(__file__).parent / "fixtures"


def peft_example():
    """Arabnejad & Barbosa 2014, Fig. 2 (transcribed into our TOML formats)."""
    platform = load_platform(str(FIXTURES / "peft_platform.toml"))
    workload = load_workload(str(FIXTURES / "peft_app.toml"))
    return platform, workload


def test_oct_row_of_the_first_task_matches_the_paper() -> None:
    platform, workload = peft_example()
    info = PeftCostModel(platform).info(workload.mix.graphs[0])
    assert info.bias is not None
    assert info.bias[0] == (64.0, 68.0, 86.0)
    assert info.ranks[0] == pytest.approx((64 + 68 + 86) / 3)
    assert all(v == 0.0 for v in info.bias[9])  # the exit task


def test_peft_122_and_heft_133_on_the_papers_graph() -> None:
    platform, workload = peft_example()
    graph = workload.mix.graphs[0]
    assert peft_schedule(graph, PeftCostModel(platform)).makespan_us == 122.0
    assert heft_schedule(graph, CostModel(platform)).makespan_us == 133.0


def test_peft_order_is_a_ready_list_order() -> None:
    platform, workload = peft_example()
    graph = workload.mix.graphs[0]
    info = PeftCostModel(platform).info(graph)
    position = {t: k for k, t in enumerate(info.order)}
    assert all(position[e.src] < position[e.dst] for e in graph.edges)
    # rank_oct: t4 (43.67) before t6 (41.67) before t2 (41.0); t8 (20.67) before t7 (17.0)
    assert [t + 1 for t in info.order] == [1, 4, 6, 2, 3, 5, 8, 7, 9, 10]


@pytest.mark.parametrize(("scheduler", "makespan"), [("peft", 122.0), ("heft", 133.0)])
def test_the_engine_runs_the_static_plans(scheduler: str, makespan: float) -> None:
    platform, workload = peft_example()
    checker = InvariantChecker(workload)
    sim = simulate(platform, workload, make_scheduler(scheduler), RunOptions(num_jobs=1), observers=[checker])
    checker.check()
    assert sim.now == makespan


def test_streaming_peft_keeps_the_invariants(random_case) -> None:
    for seed in range(4):
        platform, workload = random_case(seed)
        checker = InvariantChecker(workload)
        sim = simulate(platform, workload, make_scheduler("peft"), RunOptions(seed=seed, num_jobs=40, noise_rsd=0.1),
                       observers=[checker])
        checker.check()
        assert sim.jobs_completed + sim.jobs_dropped == 40
