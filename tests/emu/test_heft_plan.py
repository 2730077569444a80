"""Static HEFT planning (soc_emu.schedulers.heft_plan): the paper's example and the planner's rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from soc_emu.errors import SocEmuError
from soc_emu.formats import load_platform, load_workload
from soc_emu.model import Edge, Interconnect, Link, Platform, ProcessingElement, Task, TaskGraph
from soc_emu.schedulers.heft_plan import (
    CostModel,
    JobToPlan,
    Placement,
    SlotTimelines,
    heft_schedule,
    plan,
)

# Topcuoglu, Hariri & Wu 2002, Fig. 2: execution time of task i on P1, P2, P3, and the edge costs.
TOPCUOGLU_EXEC = {
    1: (14, 16, 9), 2: (13, 19, 18), 3: (11, 13, 19), 4: (13, 8, 17), 5: (12, 13, 10),
    6: (13, 16, 9), 7: (7, 15, 11), 8: (5, 11, 14), 9: (18, 12, 20), 10: (21, 7, 16),
}  # fmt: skip
TOPCUOGLU_EDGES = [
    (1, 2, 18), (1, 3, 12), (1, 4, 9), (1, 5, 11), (1, 6, 14), (2, 8, 19), (2, 9, 16), (3, 7, 23),
    (4, 8, 27), (4, 9, 23), (5, 9, 13), (6, 8, 15), (7, 10, 17), (8, 10, 11), (9, 10, 13),
]  # fmt: skip
# The paper's upward ranks (Table 2 / text) and its HEFT schedule (Fig. 4(a)): task -> (processor, start, finish).
PAPER_RANKS = {1: 108.0, 2: 77.0, 3: 80.0, 4: 80.0, 5: 69.0, 6: 63.333, 7: 42.667, 8: 35.667, 9: 44.333, 10: 14.667}
PAPER_ORDER = [1, 3, 4, 2, 5, 6, 9, 7, 8, 10]
PAPER_SCHEDULE = {
    1: (3, 0, 9), 3: (3, 9, 28), 4: (2, 18, 26), 2: (1, 27, 40), 5: (3, 28, 38),
    6: (2, 26, 42), 9: (2, 56, 68), 7: (3, 38, 49), 8: (1, 57, 62), 10: (2, 73, 80),
}  # fmt: skip


def topcuoglu_platform() -> Platform:
    """Three processors; a transfer between different processors costs its volume (bandwidth 1)."""
    pes = tuple(
        ProcessingElement(i, f"P{i + 1}", "cpu", "cpus", 1, {f"t{k}": float(v[i]) for k, v in TOPCUOGLU_EXEC.items()})
        for i in range(3)
    )
    return Platform("topcuoglu-test", pes, Interconnect(default=Link(bandwidth=1.0)))


def topcuoglu_graph() -> TaskGraph:
    tasks = tuple(Task(k - 1, f"t{k}", f"t{k}") for k in TOPCUOGLU_EXEC)
    return TaskGraph("topcuoglu", tasks, tuple(Edge(a - 1, b - 1, float(v)) for a, b, v in TOPCUOGLU_EDGES))


def one_pe_platform(capacity: int = 1, kernels: dict[str, float] | None = None) -> Platform:
    pe = ProcessingElement(0, "P", "cpu", "c", capacity, kernels or {"k": 10.0})
    return Platform("one", (pe,), Interconnect(default=Link(bandwidth=1.0)))


def chain_free(n: int, kernel: str = "k") -> TaskGraph:
    """``n`` independent tasks."""
    return TaskGraph("free", tuple(Task(i, f"x{i}", kernel) for i in range(n)), ())


class TestTopcuoglu:
    def test_upward_ranks_match_the_paper(self) -> None:
        info = CostModel(topcuoglu_platform()).info(topcuoglu_graph())
        for task, rank in PAPER_RANKS.items():
            assert info.ranks[task - 1] == pytest.approx(rank, abs=1e-3), f"rank_u(t{task})"

    def test_order_breaks_the_t3_t4_tie_like_the_paper(self) -> None:
        info = CostModel(topcuoglu_platform()).info(topcuoglu_graph())
        assert [t + 1 for t in info.order] == PAPER_ORDER

    def test_schedule_length_80_and_the_papers_schedule(self) -> None:
        result = heft_schedule(topcuoglu_graph(), CostModel(topcuoglu_platform()))
        assert result.makespan_us == 80.0
        got = {t + 1: (p.pe + 1, p.start_us, p.finish_us) for t, p in enumerate(result[0]) if p is not None}
        assert got == PAPER_SCHEDULE

    def test_schedule_respects_precedence_and_transfers(self) -> None:
        graph, platform = topcuoglu_graph(), topcuoglu_platform()
        placed = heft_schedule(graph, CostModel(platform))[0]
        for edge in graph.edges:
            src, dst = placed[edge.src], placed[edge.dst]
            assert src is not None and dst is not None
            assert dst.start_us >= src.finish_us + platform.transfer_time(src.pe, dst.pe, edge.volume)

    def test_release_time_shifts_the_schedule(self) -> None:
        result = heft_schedule(topcuoglu_graph(), CostModel(topcuoglu_platform()), release_us=1000.0)
        assert result.makespan_us == 1080.0


class TestCosts:
    def test_mean_execution_excludes_pes_that_cannot_run_the_task(self) -> None:
        pes = (
            ProcessingElement(0, "A", "cpu", "c", 1, {"a": 10.0, "b": 4.0}),
            ProcessingElement(1, "B", "cpu", "c", 1, {"a": 30.0}),
        )
        platform = Platform("p", pes, Interconnect(default=Link(bandwidth=1.0)))
        graph = TaskGraph("g", (Task(0, "a", "a"), Task(1, "b", "b")), ())
        info = CostModel(platform).info(graph)
        assert info.ranks == (20.0, 4.0)  # b's mean is over A only
        assert info.candidates[1] == ((4.0, 0),)

    def test_launch_overhead_counts_in_durations(self) -> None:
        pe = ProcessingElement(0, "G", "gpu", "c", 1, {"k": 10.0}, launch_overhead_us=2.5)
        platform = Platform("p", (pe,), Interconnect(default=Link(bandwidth=1.0)))
        assert heft_schedule(chain_free(1), CostModel(platform)).makespan_us == 12.5

    def test_mean_communication_uses_mean_latency_and_mean_bandwidth_over_distinct_pairs(self) -> None:
        pes = tuple(ProcessingElement(i, f"P{i}", "cpu", c, 1, {"k": 1.0}) for i, c in enumerate("xxy"))
        inter = Interconnect(
            default=Link(bandwidth=2.0, latency_us=3.0),
            cluster_links={("x", "x"): Link(bandwidth=8.0, latency_us=1.0)},
        )
        costs = CostModel(Platform("p", pes, inter))
        # ordered distinct pairs: (0,1),(1,0) on x-x; the other four x-y
        assert costs.mean_latency_us == pytest.approx((2 * 1.0 + 4 * 3.0) / 6)
        assert costs.mean_bandwidth == pytest.approx((2 * 8.0 + 4 * 2.0) / 6)
        assert costs.mean_comm(12.0) == pytest.approx(costs.mean_latency_us + 12.0 / costs.mean_bandwidth)
        assert costs.mean_comm(0.0) == 0.0
        for i in range(3):
            for j in range(3):
                assert costs.transfer(i, j, 5.0) == Platform("p", pes, inter).transfer_time(i, j, 5.0)

    def test_single_pe_platform_has_no_communication_cost(self) -> None:
        assert CostModel(one_pe_platform()).mean_comm(100.0) == 0.0

    def test_task_no_pe_can_run_is_a_user_error(self) -> None:
        graph = TaskGraph("g", (Task(0, "x", "nope"),), (), source="app.toml")
        with pytest.raises(SocEmuError, match="nope") as err:
            CostModel(one_pe_platform()).info(graph)
        assert err.value.source == "app.toml: x"

    def test_graph_info_is_cached_by_identity(self) -> None:
        costs = CostModel(topcuoglu_platform())
        graph = topcuoglu_graph()
        assert costs.info(graph) is costs.info(graph)
        assert costs.info(topcuoglu_graph()) is not costs.info(graph)


class TestInsertion:
    def test_task_fills_the_earliest_gap_that_fits(self) -> None:
        costs = CostModel(one_pe_platform(kernels={"short": 5.0, "long": 15.0}))
        timelines = SlotTimelines.for_platform(costs.platform)
        timelines.occupy(0, 0, 10.0, 20.0)
        timelines.occupy(0, 0, 30.0, 40.0)
        graph = TaskGraph("g", (Task(0, "l", "long"), Task(1, "s", "short")), ())
        placed = plan([JobToPlan("j", graph)], costs, timelines)["j"]
        # 'long' (higher rank) does not fit before 10 nor in [20, 30): it goes after 40.
        assert placed[0] == Placement(0, 0, 40.0, 55.0)
        assert placed[1] == Placement(0, 0, 0.0, 5.0)
        assert timelines.starts[0][0] == [0.0, 10.0, 30.0, 40.0]
        assert timelines.ends[0][0] == [5.0, 20.0, 40.0, 55.0]

    def test_later_task_is_inserted_into_a_gap_left_by_the_plan(self) -> None:
        # a -> c with a long transfer; b is independent and short: HEFT inserts b before c on the one PE.
        pes = (
            ProcessingElement(0, "P0", "cpu", "c", 1, {"a": 1.0, "c": 1.0, "b": 3.0}),
            ProcessingElement(1, "P1", "cpu", "c", 1, {"a": 50.0, "c": 50.0, "b": 40.0}),
        )
        platform = Platform("p", pes, Interconnect(default=Link(bandwidth=1.0), same_pe=Link(bandwidth=0.1)))
        graph = TaskGraph(
            "g", (Task(0, "a", "a"), Task(1, "c", "c"), Task(2, "b", "b")), (Edge(0, 1, 1.0),)
        )
        placed = plan([JobToPlan("j", graph)], CostModel(platform))["j"]
        assert placed[0] == Placement(0, 0, 0.0, 1.0)
        assert placed[1] == Placement(0, 0, 11.0, 12.0)  # same-PE transfer of 1 at bandwidth 0.1
        assert placed[2] == Placement(0, 0, 1.0, 4.0)  # planned after c, inserted before it

    def test_each_slot_of_a_multi_slot_pe_has_its_own_timeline(self) -> None:
        costs = CostModel(one_pe_platform(capacity=2))
        placed = heft_schedule(chain_free(3), costs)[0]
        assert [(p.slot, p.start_us) for p in placed if p is not None] == [(0, 0.0), (1, 0.0), (0, 10.0)]

    def test_ties_go_to_the_faster_pe_then_the_lower_index(self) -> None:
        pes = (
            ProcessingElement(0, "slow", "cpu", "c", 1, {"k": 20.0}),
            ProcessingElement(1, "fast_a", "cpu", "c", 1, {"k": 10.0}),
            ProcessingElement(2, "fast_b", "cpu", "c", 1, {"k": 10.0}),
        )
        costs = CostModel(Platform("p", pes, Interconnect(default=Link(bandwidth=1.0))))
        timelines = SlotTimelines.for_platform(costs.platform)
        timelines.occupy(1, 0, 0.0, 10.0)  # busy fast_a: the first task goes to fast_b
        # the second task finishes at 20 on all three PEs: the faster PEs win, then the lower index
        placed = plan([JobToPlan("j", chain_free(2))], costs, timelines)["j"]
        assert placed[0] == Placement(2, 0, 0.0, 10.0)
        assert placed[1] == Placement(1, 0, 10.0, 20.0)

    def test_reconfiguration_is_charged_when_a_slot_changes_kernel(self) -> None:
        pes = (
            ProcessingElement(0, "fpga", "fpga", "c", 2, {"x": 10.0, "y": 10.0}, reconfig_time_us=100.0),
            ProcessingElement(1, "cpu", "cpu", "c", 1, {"x": 200.0, "y": 200.0}),
        )
        costs = CostModel(Platform("p", pes, Interconnect(default=Link(bandwidth=1.0))))
        graph = TaskGraph("g", (Task(0, "a", "x"), Task(1, "b", "y"), Task(2, "c", "x")), ())
        timelines = SlotTimelines.for_platform(costs.platform)
        placed = plan([JobToPlan("j", graph)], costs, timelines)["j"]
        assert placed[0] == Placement(0, 0, 0.0, 110.0)  # empty region: load x
        assert placed[1] == Placement(0, 1, 0.0, 110.0)  # the other region loads y
        assert placed[2] == Placement(0, 0, 110.0, 120.0)  # region 0 holds x already: no reload
        assert timelines.kernel[0] == ["x", "y"]

    def test_a_region_holding_the_kernel_is_preferred(self) -> None:
        pe = ProcessingElement(0, "fpga", "fpga", "c", 2, {"x": 10.0}, reconfig_time_us=100.0)
        costs = CostModel(Platform("p", (pe,), Interconnect(default=Link(bandwidth=1.0))))
        timelines = SlotTimelines.for_platform(costs.platform)
        timelines.kernel[0] = ["y", "x"]
        placed = plan([JobToPlan("j", chain_free(1, kernel="x"))], costs, timelines)["j"]
        assert placed[0] == Placement(0, 1, 0.0, 10.0)

    def test_occupy_rejects_overlap(self) -> None:
        timelines = SlotTimelines.empty([1])
        timelines.occupy(0, 0, 0.0, 10.0)
        with pytest.raises(ValueError):
            timelines.occupy(0, 0, 5.0, 15.0)
        assert timelines.earliest_start(0, 0, 2.0, 3.0) == 10.0


class TestReplanningInputs:
    """The inputs the streaming scheduler uses: fixed, running, pinned and free tasks, floors, failures."""

    def test_fixed_tasks_feed_their_successors(self) -> None:
        graph, platform = topcuoglu_graph(), topcuoglu_platform()
        pe = [-1] * 10
        finish = [math.nan] * 10
        pe[0], finish[0] = 2, 9.0  # t1 done on P3 at 9, as in the static plan
        job = JobToPlan("j", graph, 0.0, pe, finish)
        result = plan([job], CostModel(platform), floor_us=9.0)
        placed = result["j"]
        assert placed[0] is None  # fixed on input
        got = {t + 1: (p.pe + 1, p.start_us, p.finish_us) for t, p in enumerate(placed) if p is not None}
        assert got == {k: v for k, v in PAPER_SCHEDULE.items() if k != 1}

    def test_floor_delays_every_new_task(self) -> None:
        result = plan([JobToPlan("j", topcuoglu_graph())], CostModel(topcuoglu_platform()), floor_us=5.0)
        assert min(p.start_us for p in result["j"] if p is not None) == 5.0

    def test_pinned_tasks_stay_on_their_pe_and_go_first(self) -> None:
        costs = CostModel(one_pe_platform(kernels={"k": 10.0}))
        # Two jobs of 1 task each: job b's task is queued on PE 0 and pinned first.
        a = JobToPlan("a", chain_free(1))
        b = JobToPlan("b", chain_free(1), 0.0, [0], [math.nan])
        result = plan([a, b], costs, pinned_first=[(1, 0)])
        assert result["b"][0] == Placement(0, 0, 0.0, 10.0)
        assert result["a"][0] == Placement(0, 0, 10.0, 20.0)

    def test_pinned_task_stays_on_an_excluded_pe(self) -> None:
        pes = tuple(ProcessingElement(i, f"P{i}", "cpu", "c", 1, {"k": 10.0 + i}) for i in range(2))
        costs = CostModel(Platform("p", pes, Interconnect(default=Link(bandwidth=1.0))))
        graph = TaskGraph("g", (Task(0, "a", "k"), Task(1, "b", "k")), (Edge(0, 1, 0.0),))
        job = JobToPlan("j", graph, 0.0, [0, -1], [math.nan, math.nan])
        placed = plan([job], costs, excluded_pes=[0], pinned_first=[(0, 0)])["j"]
        assert placed[0] == Placement(0, 0, 0.0, 10.0)
        assert placed[1] == Placement(1, 0, 10.0, 21.0)  # free task avoids the excluded P0

    def test_tasks_no_usable_pe_can_run_stay_unplanned_with_their_successors(self) -> None:
        pes = (
            ProcessingElement(0, "acc", "acc_fft", "c", 1, {"fft": 1.0}),
            ProcessingElement(1, "cpu", "cpu", "c", 1, {"post": 1.0}),
        )
        costs = CostModel(Platform("p", pes, Interconnect(default=Link(bandwidth=1.0))))
        graph = TaskGraph("g", (Task(0, "f", "fft"), Task(1, "p", "post"), Task(2, "q", "post")), (Edge(0, 1, 1.0),))
        placed = plan([JobToPlan("j", graph)], costs, excluded_pes=[0])["j"]
        assert placed[0] is None and placed[1] is None
        assert placed[2] == Placement(1, 0, 0.0, 1.0)

    def test_pinned_before_unplanned_predecessor_is_a_bug(self) -> None:
        graph = TaskGraph("g", (Task(0, "a", "k"), Task(1, "b", "k")), (Edge(0, 1, 0.0),))
        job = JobToPlan("j", graph, 0.0, [-1, 0], [math.nan, math.nan])
        with pytest.raises(ValueError, match="unplanned predecessor"):
            plan([job], CostModel(one_pe_platform()), pinned_first=[(0, 1)])

    def test_rank_ties_across_jobs_go_to_the_earlier_job(self) -> None:
        costs = CostModel(one_pe_platform())
        result = plan([JobToPlan("first", chain_free(1)), JobToPlan("second", chain_free(1))], costs)
        assert result["first"][0] == Placement(0, 0, 0.0, 10.0)
        assert result["second"][0] == Placement(0, 0, 10.0, 20.0)

    def test_higher_rank_job_is_planned_first(self) -> None:
        costs = CostModel(one_pe_platform(kernels={"k": 10.0, "big": 30.0}))
        old = JobToPlan("old", chain_free(1))
        new = JobToPlan("new", chain_free(1, kernel="big"))
        result = plan([old, new], costs)
        assert result["new"][0] == Placement(0, 0, 0.0, 30.0)
        assert result["old"][0] == Placement(0, 0, 30.0, 40.0)


def test_builtin_topcuoglu_platform_and_workload_give_80() -> None:
    platform = load_platform("topcuoglu")
    workload = load_workload("topcuoglu")
    (graph,) = workload.mix.graphs
    costs = CostModel(platform)
    info = costs.info(graph)
    by_name = {task.name: task.index for task in graph.tasks}
    for task, rank in PAPER_RANKS.items():
        assert info.ranks[by_name[f"task_{task}"]] == pytest.approx(rank, abs=1e-3)
    placed = heft_schedule(graph, costs)[0]
    got = {int(graph.tasks[t].name[5:]): (p.pe + 1, p.start_us, p.finish_us) for t, p in enumerate(placed) if p}
    assert got == PAPER_SCHEDULE
    assert max(p.finish_us for p in placed if p) == 80.0


def random_case(seed: int) -> tuple[Platform, list[TaskGraph]]:
    """A random heterogeneous platform (some kernels unsupported, multi-slot PEs, links with latency) and
    a few random DAGs with zero-length tasks and zero-volume edges."""
    rng = np.random.default_rng(seed)
    kernels = [f"k{i}" for i in range(5)]
    n_pes = int(rng.integers(2, 5))
    pes = []
    for i in range(n_pes):
        times = {k: float(rng.choice([0.0, rng.uniform(1, 30)], p=[0.1, 0.9])) for k in kernels if rng.random() < 0.8}
        pes.append(ProcessingElement(i, f"P{i}", "cpu", f"c{i % 2}", int(rng.integers(1, 3)), times))
    pes[0] = ProcessingElement(0, "P0", "cpu", "c0", pes[0].capacity, {k: float(rng.uniform(1, 30)) for k in kernels})
    inter = Interconnect(
        default=Link(bandwidth=float(rng.uniform(0.5, 4)), latency_us=float(rng.uniform(0, 3))),
        same_pe=Link(bandwidth=50.0),
        cluster_links={("c0", "c0"): Link(bandwidth=8.0, latency_us=0.5)},
    )
    graphs = []
    for g in range(int(rng.integers(1, 4))):
        n = int(rng.integers(3, 14))
        tasks = tuple(Task(i, f"t{i}", kernels[int(rng.integers(0, 5))]) for i in range(n))
        edges = tuple(
            Edge(a, b, float(rng.choice([0.0, rng.uniform(1, 40)])))
            for b in range(n) for a in range(b) if rng.random() < 0.3
        )  # fmt: skip
        graphs.append(TaskGraph(f"g{g}", tasks, edges))
    return Platform(f"rand{seed}", tuple(pes), inter), graphs


Busy = dict[tuple[int, int], list[tuple[float, float]]]


def reference_eft(
    costs: CostModel, busy: Busy, kernel: str, inputs: list[tuple[int, float, float]], floor: float
) -> Placement:
    """Naive insertion-based EFT over every (PE, slot), for checking the planner's fast loop."""
    platform = costs.platform
    best = None
    for duration, pe in sorted((costs.duration(kernel, p.index), p.index) for p in platform.pes if p.supports(kernel)):
        ready = max([floor] + [f + platform.transfer_time(src_pe, pe, vol) for src_pe, f, vol in inputs])
        for slot in range(platform.pes[pe].capacity):
            intervals = sorted(busy[(pe, slot)])
            for t in sorted({ready} | {e for _, e in intervals if e > ready}):
                clash = any((s < t + duration or s <= t) and t < e for s, e in intervals)
                if not clash:
                    break
            if best is None or t + duration < best.finish_us:
                best = Placement(pe, slot, t, t + duration)
    assert best is not None
    return best


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("job_order", ["rank", "arrival"])
def test_random_plans_are_valid_and_match_a_naive_eft(seed: int, job_order: str) -> None:
    platform, graphs = random_case(seed)
    costs = CostModel(platform)
    jobs = [JobToPlan(j, g, release_us=7.0 * j) for j, g in enumerate(graphs)]
    result = plan(jobs, costs, job_order=job_order)
    busy: Busy = {(pe.index, s): [] for pe in platform.pes for s in range(pe.capacity)}
    assert sorted(result.sequence) == sorted((j.key, t) for j in jobs for t in range(len(j.graph)))
    for key, t in result.sequence:
        job = jobs[key]  # type: ignore[index]
        placed = result[key]
        task = job.graph.tasks[t]
        inputs = []
        for src, vol in job.graph.preds[t]:
            p = placed[src]
            assert p is not None, "a predecessor is placed before its successor"
            inputs.append((p.pe, p.finish_us, vol))
        expected = reference_eft(costs, busy, task.kernel, inputs, job.release_us)
        got = placed[t]
        assert got is not None
        assert got.pe == expected.pe and got.slot == expected.slot
        assert got.start_us == pytest.approx(expected.start_us) and got.finish_us == pytest.approx(expected.finish_us)
        assert platform.pes[got.pe].supports(task.kernel)
        busy[(got.pe, got.slot)].append((got.start_us, got.finish_us))
    # The plan as a whole: precedence with transfers, releases, no overlap on a slot.
    for job in jobs:
        placed = [p for p in result[job.key] if p is not None]
        assert len(placed) == len(job.graph)
        for edge in job.graph.edges:
            a, b = placed[edge.src], placed[edge.dst]
            assert b.start_us >= a.finish_us + platform.transfer_time(a.pe, b.pe, edge.volume) - 1e-9
        assert all(p.start_us >= job.release_us for p in placed)
    for intervals in busy.values():
        intervals.sort()
        for (s0, e0), (s1, e1) in zip(intervals, intervals[1:]):
            assert s1 >= e0 - 1e-9
