"""``soc-emu hw generate``: Verilog and schedule files, and one-line errors with exit status 2."""

from __future__ import annotations

import json

import pytest

from soc_emu.cli import main


def test_generate_writes_verilog_without_absolute_paths_and_the_schedule(tmp_path, capsys):
    assert main(["hw", "generate", "--kernel", "mlp", "--variant", "dataflow", "--out", str(tmp_path)]) == 0
    verilog = (tmp_path / "mlp_dataflow.v").read_text()
    assert "module top(" in verilog and "$readmemh" in verilog
    assert "/work/" not in verilog and "src =" not in verilog
    schedule = json.loads((tmp_path / "mlp_dataflow_schedule.json").read_text())
    assert [c["lanes"] for c in schedule["cores"]] == [4, 8, 4]
    assert schedule["streams"] == [{"producer": 0, "consumer": 1, "depth": 16},
                                   {"producer": 1, "consumer": 2, "depth": 16}]
    assert schedule["cores"][1]["program"][0]["x_src"] == "ring"
    assert "wrote" in capsys.readouterr().out


def test_generate_budget_and_size_flags_change_the_schedule(tmp_path):
    assert main(["hw", "generate", "--kernel", "mlp", "--variant", "sequential", "--out", str(tmp_path),
                 "--buffer-bytes", "8192"]) == 0
    roomy = json.loads((tmp_path / "mlp_sequential_schedule.json").read_text())
    assert main(["hw", "generate", "--kernel", "mlp", "--variant", "sequential", "--out", str(tmp_path)]) == 0
    tight = json.loads((tmp_path / "mlp_sequential_schedule.json").read_text())
    assert roomy["decisions"]["spilled"] == [] and tight["decisions"]["spilled"] == ["fc2"]


@pytest.mark.parametrize("argv, needle", [
    (["--kernel", "resnet", "--variant", "intar"], "--kernel"),
    (["--kernel", "mlp", "--variant", "systolic"], "--variant"),
    (["--kernel", "mlp", "--variant", "sequential", "--lanes", "12"], "--lanes"),
    (["--kernel", "mlp", "--variant", "sequential", "--size", "d_h1=100"], "--lanes"),
    (["--kernel", "mlp", "--variant", "sequential", "--size", "d_h1=x"], "--size"),
    (["--kernel", "ffn", "--variant", "dataflow", "--cores", "1"], "--cores"),
])
def test_bad_parameters_exit_2_with_one_line(tmp_path, capsys, argv, needle):
    assert main(["hw", "generate", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and needle in err
