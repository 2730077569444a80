"""Built-in platforms and workloads: they load, have the published shapes and figures, and fit together."""

from __future__ import annotations

import math
import tomllib
from importlib import resources

import pytest

from soc_emu.engine.invariants import InvariantChecker
from soc_emu.engine.options import RunOptions
from soc_emu.engine.records import TaskRecord
from soc_emu.errors import SocEmuError
from soc_emu.formats import (
    DEFAULT_PLATFORM,
    DEFAULT_WORKLOAD,
    builtin_platforms,
    builtin_workloads,
    check_compatible,
    load_platform,
    load_scenario,
    load_workload,
)
from soc_emu.model import JobMix, Task, TaskGraph, Workload
from soc_emu.runner import RunConfig, execute

DS3_APPS = ("wifi_tx", "wifi_rx", "radar", "sc_tx", "sc_rx", "temporal_mitigation")


def test_builtin_lists():
    assert set(builtin_platforms()) == {"topcuoglu", "ds3", "hetero", "hetero_dvfs", "fpga_soc", "quad"}
    assert {"ds3_mix", "ds3_capped", "edge_ai_mix", "topcuoglu", "dnn_kws", "dnn_vision", *DS3_APPS} <= set(
        builtin_workloads())
    assert all(builtin_platforms().values()) and all(builtin_workloads().values())
    assert DEFAULT_PLATFORM == "hetero" and DEFAULT_WORKLOAD == "ds3_mix"


@pytest.mark.parametrize(
    ("platform", "runnable"),
    [("topcuoglu", {"topcuoglu"}), ("ds3", {"ds3_mix", "ds3_capped", *DS3_APPS}),
     ("hetero", {"ds3_mix", "ds3_capped", "edge_ai_mix", "dnn_kws", "dnn_vision", *DS3_APPS}),
     ("fpga_soc", {"dnn_kws", "dnn_vision"})],
)
def test_every_builtin_workload_loads_and_runs_where_expected(platform, runnable):
    p = load_platform(platform)
    for name in builtin_workloads():
        w = load_workload(name)
        if name in runnable:
            check_compatible(p, w)
        else:
            with pytest.raises(SocEmuError, match=f"runs on no PE of platform '{platform}'"):
                check_compatible(p, w)


@pytest.mark.parametrize(
    ("app", "tasks"),
    [("wifi_tx", 27), ("wifi_rx", 34), ("radar", 7), ("sc_tx", 8), ("sc_rx", 8), ("temporal_mitigation", 10), ("topcuoglu", 10),
     ("dnn_kws", 4)],
)
def test_task_counts(app, tasks):
    (graph,) = load_workload(app).mix.graphs
    assert len(graph) == tasks
    assert len(graph.entry_tasks) == 1 and len(graph.exit_tasks) == 1  # DS3 apps have one HEAD and one TAIL


def test_topcuoglu_tables():
    p = load_platform("topcuoglu")
    assert len(p.pes) == 3
    table = [[p.pes[j].exec_time(f"task_{i}") for j in range(3)] for i in range(1, 11)]
    assert table == [[14, 16, 9], [13, 19, 18], [11, 13, 19], [13, 8, 17], [12, 13, 10],
                     [13, 16, 9], [7, 15, 11], [5, 11, 14], [18, 12, 20], [21, 7, 16]]
    assert p.transfer_time(0, 0, 18) == 0.0
    assert p.transfer_time(0, 1, 18) == 18.0 and p.transfer_time(2, 1, 27) == 27.0
    (g,) = load_workload("topcuoglu").mix.graphs
    edges = {(g.tasks[e.src].name, g.tasks[e.dst].name): e.volume for e in g.edges}
    assert len(edges) == 15
    assert edges == {
        ("task_1", "task_2"): 18, ("task_1", "task_3"): 12, ("task_1", "task_4"): 9, ("task_1", "task_5"): 11,
        ("task_1", "task_6"): 14, ("task_2", "task_8"): 19, ("task_2", "task_9"): 16, ("task_3", "task_7"): 23,
        ("task_4", "task_8"): 27, ("task_4", "task_9"): 23, ("task_5", "task_9"): 13, ("task_6", "task_8"): 15,
        ("task_7", "task_10"): 17, ("task_8", "task_10"): 11, ("task_9", "task_10"): 13,
    }


def test_ds3_platform_matches_multiple_bal():
    p = load_platform("ds3")
    counts: dict[str, int] = {}
    for pe in p.pes:
        counts[pe.cluster] = counts.get(pe.cluster, 0) + 1
    assert counts == {"A7": 4, "A15": 4, "MM": 2, "FFT": 4, "VIT": 2}
    a7, a15 = p.pe_by_name("A7_0"), p.pe_by_name("A15_0")
    fft, vit = p.pe_by_name("FFT_0"), p.pe_by_name("VIT_0")
    assert (a7.exec_time("viterbi_decoder"), a15.exec_time("viterbi_decoder"), vit.exec_time("viterbi_decoder")) == (1828, 739, 2)
    assert (a7.exec_time("fft"), a15.exec_time("fft"), fft.exec_time("fft")) == (289, 114, 12)
    assert p.transfer_time(a7.index, a7.index, 10000) == pytest.approx(1.0)  # same PE: 10000
    assert p.transfer_time(a7.index, a15.index, 1000) == pytest.approx(1.0)  # 1000 between clusters
    assert p.transfer_time(a15.index, fft.index, 1000) == pytest.approx(100.0)  # 10 to the FFT cluster
    assert p.transfer_time(p.pe_by_name("A7_1").index, a7.index, 1000) == pytest.approx(1.0)
    assert a15.active_power_w == 3.32
    check_compatible(p, load_workload("ds3_mix"))


def test_hetero_platform():
    p = load_platform("hetero")
    types = {pe.pe_type for pe in p.pes}
    assert {"cpu_big", "cpu_little", "dsp", "gpu", "fpga", "acc_fft", "acc_viterbi", "acc_mm"} <= types
    gpu = next(pe for pe in p.pes if pe.pe_type == "gpu")
    fpga = next(pe for pe in p.pes if pe.pe_type == "fpga")
    assert gpu.launch_overhead_us > 0
    assert fpga.reconfig_time_us > 0 and fpga.capacity >= 2
    assert all(pe.active_power_w > 0 and pe.idle_power_w > 0 for pe in p.pes)
    for i in range(len(p.pes)):
        for j in range(len(p.pes)):
            link = p.link(i, j)
            assert link.bandwidth > 0 and (i == j or (math.isfinite(link.bandwidth) and link.latency_us > 0))
    # accelerators beat the CPUs on their kernels
    big = p.pe_by_name("big_0")
    assert p.pe_by_name("fft_acc_0").exec_time("fft") < big.exec_time("fft")


def test_default_mix():
    w = load_workload("ds3_mix")
    assert [g.name for g in w.mix.graphs] == list(DS3_APPS)
    assert w.mix.normalised == pytest.approx((0.2, 0.2, 0.2, 0.1, 0.1, 0.2))
    assert w.arrivals.kind == "poisson" and w.arrivals.mean_interarrival_us == 40.0
    assert w.max_jobs_in_system is None
    capped = load_workload("ds3_capped")
    assert capped.max_jobs_in_system == 12 and capped.drop_when_full
    assert capped.arrivals.mean_interarrival_us == 100.0


def test_default_scenario():
    platform, workload = load_scenario()
    assert platform.name == "hetero" and workload.name == "ds3_mix"


def test_comma_list_with_weights():
    w = load_workload("wifi_tx:3, radar")
    assert [g.name for g in w.mix.graphs] == ["wifi_tx", "radar"]
    assert w.mix.normalised == pytest.approx((0.75, 0.25))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: load_platform("heterro"), r"unknown platform 'heterro'; did you mean 'hetero'\?"),
        (lambda: load_workload("ds3_mx"), r"unknown workload 'ds3_mx'; did you mean 'ds3_mix'\?"),
        (lambda: load_workload("wifi_tx,raddar"), r"unknown application 'raddar'; did you mean 'radar'\?"),
        (lambda: load_workload("wifi_tx:heavy"), r"expected app:weight with a number"),
        (lambda: load_workload("wifi_tx,wifi_tx"), r"'wifi_tx' is listed twice"),
        (lambda: load_platform("no/such/file.toml"), r"no/such/file\.toml: no such file"),
        (lambda: load_scenario("topcuoglu", "radar"), r"application 'radar', task 'ST': kernel 'ST' runs on no PE of platform 'topcuoglu'"),
    ],
)
def test_loading_errors(call, message):
    with pytest.raises(SocEmuError, match=message):
        call()


def test_check_compatible_names_app_task_kernel_platform():
    platform = load_platform("topcuoglu")
    graph = TaskGraph(name="custom", tasks=(Task(0, "only", "warp_drive"),), edges=(), source="custom.toml")
    with pytest.raises(SocEmuError) as info:
        check_compatible(platform, Workload(name="w", mix=JobMix((graph,), (1.0,))))
    text = str(info.value)
    assert all(word in text for word in ("custom", "only", "warp_drive", "topcuoglu"))


# -- the dnn_* kernels of hw/ (default sizes) and the dnn_vision application --------------------------------
# int8 MACs of hw/'s kernels at their default sizes (hw.kernels.build_kernel(name).macs); the platforms
# derive every non-FPGA PE's time from them at one MAC rate per PE type.
HW_KERNEL_MACS = {"dnn_mlp": 524_288, "dnn_ffn": 294_912, "dnn_cnn": 893_952, "dnn_attention": 655_360}
# The FPGA's times come from the exported InTAR cycles (soc_emu/data/timings/intar_fpga.toml, at measured clocks;
# tests/hw/test_export_timings.py checks that file against the generated hardware).
INTAR_FPGA_US = tomllib.loads(resources.files("soc_emu").joinpath("data/timings/intar_fpga.toml").read_text())[
    "exec_times_us"]


def test_dnn_vision_graph():
    (g,) = load_workload("dnn_vision").mix.graphs
    assert {t.name: t.kernel for t in g.tasks} == {
        "cnn_tile_0": "dnn_cnn", "cnn_tile_1": "dnn_cnn", "global_context": "dnn_attention", "classifier": "dnn_mlp"}
    edges = {(g.tasks[e.src].name, g.tasks[e.dst].name): e.volume for e in g.edges}
    # 8x8x16 int8 CNN maps into the attention block, its 32 x 128 int8 output into the classifier
    assert edges == {("cnn_tile_0", "global_context"): 1024, ("cnn_tile_1", "global_context"): 1024,
                     ("global_context", "classifier"): 4096}
    assert {g.tasks[i].name for i in g.entry_tasks} == {"cnn_tile_0", "cnn_tile_1"}
    assert [g.tasks[i].name for i in g.exit_tasks] == ["classifier"]


@pytest.mark.parametrize("platform", ["hetero", "fpga_soc"])
def test_dnn_kernel_times_follow_one_mac_rate_per_pe_type(platform):
    """Every non-FPGA PE with a dnn_mlp time runs all four hw/ kernels at that time's MAC rate (each time
    rounded to 0.1 us, so the tolerance is the rounding of both times); the FPGA has the measured times."""
    p = load_platform(platform)
    derived = [pe for pe in p.pes if pe.pe_type != "fpga" and pe.supports("dnn_mlp")]
    assert {pe.pe_type for pe in derived} == ({"cpu_little", "cpu_big", "dsp", "gpu"} if platform == "hetero" else {"cpu_little"})
    for pe in derived:
        mlp = pe.exec_time("dnn_mlp")
        for kernel, macs in HW_KERNEL_MACS.items():
            ratio = macs / HW_KERNEL_MACS["dnn_mlp"]
            assert abs(pe.exec_time(kernel) - mlp * ratio) <= 0.05 * (1 + ratio) + 1e-9, (pe.name, kernel)
    fpga = next(pe for pe in p.pes if pe.pe_type == "fpga")
    assert set(INTAR_FPGA_US) == set(HW_KERNEL_MACS)
    assert {k: fpga.exec_time(k) for k in INTAR_FPGA_US} == pytest.approx(INTAR_FPGA_US)


class _TaskLog:
    """Observer keeping the task records of a run."""

    def __init__(self) -> None:
        self.tasks: list[TaskRecord] = []

    def on_task(self, record: TaskRecord) -> None:
        self.tasks.append(record)


def _run_dnn_vision(platform: str, num_jobs: int) -> tuple[dict, list[TaskRecord]]:
    workload = load_workload("dnn_vision")
    log, checker = _TaskLog(), InvariantChecker(workload)
    result = execute(RunConfig(platform=platform, workload=workload, scheduler="heft",
                               options=RunOptions(seed=0, num_jobs=num_jobs), observers=[log, checker]))
    checker.check()
    assert checker.jobs_checked == num_jobs
    return result.metrics, log.tasks


def test_dnn_vision_lone_job_hand_computed():
    """One job, HEFT. hetero: all four tasks on the GPU (2 slots, 8 us launch each): both CNNs 16.8 + 8 in
    parallel, attention 12.3 + 8, MLP 9.8 + 8 = 62.9 us. fpga_soc: the CNNs and the attention stay on the
    A53s (the FPGA would need a 400 us reconfiguration first), then 596 + 0.052 (A53 L2: 0.02 + 1024 B /
    32000) + 436.9; the classifier goes where it finishes first: the boot image's dnn_mlp region (1.224 us
    AXI: 0.2 + 4096 B / 4000, plus the FPGA's dnn_mlp time at its measured clock) or the same A53
    (349.5 us, no transfer), which wins since the FPGA times come from place-and-route Fmax."""
    m, tasks = _run_dnn_vision("hetero", 1)
    assert m["tasks_completed"] == 4 and {t.pe_name for t in tasks} == {"gpu_0"}
    assert m["mean_latency_us"] == pytest.approx(62.9)
    m, tasks = _run_dnn_vision("fpga_soc", 1)
    on_fpga = 1.224 + INTAR_FPGA_US["dnn_mlp"] < 349.5
    assert {t.task_name: t.pe_name.split("_")[0] for t in tasks} == {
        "cnn_tile_0": "apu", "cnn_tile_1": "apu", "global_context": "apu", "classifier": "fpga" if on_fpga else "apu"}
    assert all(t.overhead_us == 0 for t in tasks)
    assert m["mean_latency_us"] == pytest.approx(596 + 0.052 + 436.9 + min(1.224 + INTAR_FPGA_US["dnn_mlp"], 349.5))


@pytest.mark.parametrize("platform", ["hetero", "fpga_soc"])
def test_dnn_vision_stream_completes(platform):
    """20 jobs at the default 10 jobs/ms: all complete; on fpga_soc the load makes HEFT reconfigure FPGA
    regions to the CNN/attention kernels (the boot image has neither)."""
    m, tasks = _run_dnn_vision(platform, 20)
    assert (m["jobs_completed"], m["tasks_completed"]) == (20, 80)
    if platform == "fpga_soc":
        on_fpga = [t for t in tasks if t.pe_name.startswith("fpga")]
        assert any(t.kernel in ("dnn_cnn", "dnn_attention") for t in on_fpga)
        assert any(t.overhead_us == pytest.approx(400.0) for t in on_fpga)  # a region was reconfigured
