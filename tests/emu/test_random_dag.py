"""Random DAG generator: acyclic, reproducible, and it honours its parameters."""

from __future__ import annotations

import numpy as np
import pytest

from soc_emu.errors import SocEmuError
from soc_emu.formats import load_platform, load_scenario, load_workload
from soc_emu.workloads import RandomDagSpec, generate, parse_random_spec


@pytest.fixture(scope="module")
def hetero():
    return load_platform("hetero")


def measured_ccr(graph, platform):
    n = len(platform.pes)
    comm = [np.mean([platform.transfer_time(i, j, e.volume) for i in range(n) for j in range(n) if i != j])
            for e in graph.edges]
    comp = [np.mean([pe.exec_time(t.kernel) for pe in platform.pes]) for t in graph.tasks]
    return float(np.mean(comm) / np.mean(comp))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("fanout", [1, 3])
def test_shape_and_parameters(hetero, seed, fanout):
    spec = RandomDagSpec(tasks=60, fanout=fanout, ccr=1.0, het=0.5)
    graph, platform = generate(spec, hetero, np.random.default_rng(seed))
    assert len(graph) == 60
    assert len(graph.topo_order) == 60  # TaskGraph validated it: acyclic
    assert max(len(s) for s in graph.succs) <= fanout
    assert measured_ccr(graph, platform) == pytest.approx(1.0, rel=0.3)
    # every PE runs every random kernel; per-PE spread stays within beta/2 of the task's mean
    for task in graph.tasks:
        times = [pe.exec_time(task.kernel) for pe in platform.pes]
        assert max(times) / min(times) <= (1 + 0.25) / (1 - 0.25) + 1e-9
    # the original platform is untouched, the extended one keeps its own kernels
    assert not any(k.startswith("rand_") for k in hetero.kernels)
    assert hetero.kernels <= platform.kernels


def test_reproducible_and_seed_dependent(hetero):
    spec = RandomDagSpec(tasks=30, fanout=3, ccr=0.5, het=1.0)
    a, pa = generate(spec, hetero, np.random.default_rng(7))
    b, pb = generate(spec, hetero, np.random.default_rng(7))
    c, _ = generate(spec, hetero, np.random.default_rng(8))
    assert a == b and [pe.exec_times_us for pe in pa.pes] == [pe.exec_times_us for pe in pb.pes]
    assert a.edges != c.edges


def test_homogeneous_and_no_communication(hetero):
    graph, platform = generate(RandomDagSpec(tasks=20, ccr=0.0, het=0.0), hetero, np.random.default_rng(1))
    assert all(e.volume == 0 for e in graph.edges)
    for task in graph.tasks:
        assert len({pe.exec_time(task.kernel) for pe in platform.pes}) == 1


def test_random_spec_through_load_scenario():
    p1, w1 = load_scenario("topcuoglu", "random:tasks=25,fanout=2,ccr=2,het=0.4,seed=3")
    p2, w2 = load_scenario("topcuoglu", "random:tasks=25,fanout=2,ccr=2,het=0.4,seed=3")
    (g,) = w1.mix.graphs
    assert len(g) == 25 and max(len(s) for s in g.succs) <= 2
    assert w1.mix.graphs == w2.mix.graphs
    assert measured_ccr(g, p1) == pytest.approx(2.0, rel=0.3)
    assert parse_random_spec("random:") == RandomDagSpec()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("random:tasks=0", r"random:tasks: tasks must be an integer in \[1, 10000\]"),
        ("random:fanout=two", r"random:fanout: expected int, got 'two'"),
        ("random:het=2", r"random:het: het must be a number in \[0, 2\)"),
        ("random:ccr=-1", r"random:ccr: ccr must be a number in \[0, 1e6\]"),
        ("random:depth=3", r"random:depth: expected key=value with key one of"),
    ],
)
def test_bad_random_specs(spec, message):
    with pytest.raises(SocEmuError, match=message):
        load_scenario("hetero", spec)


def test_load_workload_points_random_specs_to_load_scenario():
    with pytest.raises(SocEmuError, match="load_scenario"):
        load_workload("random:tasks=5")
