"""DS3 / DS3Gym readers: semantics (clusters, default bandwidth 1, time = volume / bandwidth) and errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from soc_emu.errors import SocEmuError
from soc_emu.formats import detect_ds3, load_platform, load_workload, read_ds3_job, read_ds3_soc

FIXTURES = Path(__file__).parent / "fixtures"


def test_ds3_soc_expands_capacity_into_clustered_pes():
    p = load_platform(str(FIXTURES / "tiny_soc.txt"))
    assert [pe.name for pe in p.pes] == ["C_0", "C_1", "FFTX_2", "FFTX_3"]  # MEMORY is not a PE
    assert [pe.cluster for pe in p.pes] == ["C", "C", "FFTX", "FFTX"]
    assert all(pe.capacity == 1 for pe in p.pes)
    assert [pe.pe_type for pe in p.pes] == ["cpu_big", "cpu_big", "acc_fft", "acc_fft"]
    assert dict(p.pes[0].exec_times_us) == {"alpha": 10, "beta": 20, "gamma": 30}
    assert dict(p.pes[2].exec_times_us) == {"beta": 4}  # first listed time wins
    assert p.pes[0].active_power_w == 2.0  # 1-core power at the highest frequency
    assert p.pes[2].active_power_w == 0.1


def test_ds3_soc_bandwidths():
    p = load_platform(str(FIXTURES / "tiny_soc.txt"))
    assert p.transfer_time(0, 0, 1000) == pytest.approx(1000 / 500)  # comm_band_self
    assert p.transfer_time(0, 1, 1000) == pytest.approx(1000 / 100)  # comm_band 0 0: other core, same cluster
    assert p.transfer_time(1, 3, 1000) == pytest.approx(1000 / 20)  # comm_band 0 1
    assert p.transfer_time(3, 0, 1000) == pytest.approx(1000 / 20)  # symmetric
    assert p.transfer_time(2, 3, 1000) == pytest.approx(1000 / 1)  # 1 1 not listed: default 1
    assert p.transfer_time(2, 3, 0) == 0.0


def test_ds3gym_soc_dialect():
    p = load_platform(str(FIXTURES / "tiny_gym_soc.txt"))
    assert [pe.name for pe in p.pes] == ["P1", "P2"]
    assert dict(p.pes[1].exec_times_us) == {"alpha": 5, "beta": 9}  # power column ignored
    assert p.transfer_time(0, 0, 100) == pytest.approx(2.0)  # diagonal comm_band is the same-PE bandwidth
    assert p.transfer_time(0, 1, 100) == pytest.approx(100.0)  # unlisted: bandwidth 1, time = volume


def test_ds3_job_file():
    g = read_ds3_job((FIXTURES / "tiny_job.txt").read_text(), "tiny_job.txt")
    assert g.name == "tiny"
    assert [(t.name, t.kernel) for t in g.tasks] == [("alpha", "alpha"), ("beta", "beta"), ("gamma", "gamma")]
    assert sorted((e.src, e.dst, e.volume) for e in g.edges) == [(0, 1, 40.0), (0, 2, 0.0), (1, 2, 8.0)]


def test_recognised_by_content_not_extension(tmp_path):
    soc = tmp_path / "looks_like.toml"
    shutil.copy(FIXTURES / "tiny_soc.txt", soc)
    assert len(load_platform(str(soc)).pes) == 4
    job = tmp_path / "job.toml"
    shutil.copy(FIXTURES / "tiny_job.txt", job)
    assert load_workload(str(job)).mix.graphs[0].name == "tiny"
    assert detect_ds3("# comment\n\nadd_new_resource CPU P 0 1 1\n") == "soc"
    assert detect_ds3("job_name x\n") == "job"
    assert detect_ds3('name = "x"\n') is None


def test_wrong_kind_of_ds3_file():
    with pytest.raises(SocEmuError, match="DS3 job .* not a platform"):
        load_platform(str(FIXTURES / "tiny_job.txt"))
    with pytest.raises(SocEmuError, match="DS3 SoC .* not a workload"):
        load_workload(str(FIXTURES / "tiny_soc.txt"))


SOC_HEADER = "add_new_resource resource_type BIG resource_name C resource_ID 0 capacity 1 num_supported_functionalities 1 DVFS_mode performance\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SOC_HEADER + "alpha fast\n", r"bad\.txt: line 2: execution time of 'alpha': expected a number, got 'fast'"),
        (SOC_HEADER + "alpha -3\n", r"bad\.txt: line 2: .*expected a number in \[0, 1e12\]"),
        (SOC_HEADER + "alpha 3\ncomm_band 0 9 5\n", r"bad\.txt: line 3: comm_band names resource ID 9"),
        (SOC_HEADER + "alpha 3\ncomm_band 0 0 0\n", r"bad\.txt: line 3: bandwidth between PEs must be > 0"),
        (SOC_HEADER.replace("capacity 1", "capacity 0") + "alpha 3\n", r"bad\.txt: line 1: capacity"),
        (SOC_HEADER.replace("functionalities 1", "functionalities 2") + "alpha 3\n", r"bad\.txt: line 1: .*declares 2"),
        (SOC_HEADER + "alpha 3\nbeta 4\n", r"bad\.txt: line 3: unexpected 'beta' outside a resource block"),
        ("add_new_resource CPU\n", r"bad\.txt: line 1: expected 'add_new_resource TYPE NAME"),
    ],
)
def test_malformed_ds3_soc(text, message):
    with pytest.raises(SocEmuError, match=message):
        read_ds3_soc(text, "bad.txt")


JOB = "job_name j\nadd_new_tasks 2\na 0\nb 1 0\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (JOB + "comm_vol 0 1 x\n", r"bad\.txt: line 5: volume: expected a number, got 'x'"),
        (JOB + "comm_vol 1 0 4\n", r"bad\.txt: line 5: comm_vol 1 -> 0 is not a dependency"),
        (JOB.replace("b 1 0", "b 1 7"), r"bad\.txt: line 4: task 'b' names predecessor ID 7"),
        (JOB.replace("add_new_tasks 2", "add_new_tasks 3"), r"bad\.txt: line 2: add_new_tasks says 3 tasks, the file defines 2"),
        (JOB.replace("a 0\n", "a 0 1\n"), r"bad\.txt: edges: the task graph has a cycle"),
        (JOB + "c TAIL\n", r"bad\.txt: line 5: TAIL marks task 'c'"),
        ("job_name j\na 0\n", r"bad\.txt: line 2: task 'a' before 'add_new_tasks'"),
    ],
)
def test_malformed_ds3_job(text, message):
    with pytest.raises(SocEmuError, match=message):
        read_ds3_job(text, "bad.txt")
