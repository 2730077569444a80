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


def test_generate_cnn_dataflow_writes_convolution_programs(tmp_path):
    assert main(["hw", "generate", "--kernel", "cnn", "--variant", "dataflow", "--out", str(tmp_path)]) == 0
    verilog = (tmp_path / "cnn_dataflow.v").read_text()
    assert "module top(" in verilog and "$readmemh" in verilog
    assert "/work/" not in verilog and str(tmp_path) not in verilog and "src =" not in verilog
    schedule = json.loads((tmp_path / "cnn_dataflow_schedule.json").read_text())
    assert schedule["decisions"]["mapping"] == "[conv1 @4] =rows=> [conv2 @4] =rows=> [conv3 @4] =rows=> [conv4 @4]"
    programs = [core["program"] for core in schedule["cores"]]
    assert [len(p) for p in programs] == [1, 1, 1, 1] and all(p[0]["conv"] for p in programs)
    assert [(p[0]["task"], p[0]["x_src"], p[0]["dst"]) for p in programs] == [
        ("conv1", "linebuf", "stream"), ("conv2", "ring", "stream"), ("conv3", "ring", "stream"),
        ("conv4", "ring", "offchip")]
    # geometry: 4x4 -> conv1 -> up2 + conv2 (8x8) -> up2 + conv3 (16x16) -> conv4 stride 2 (8x8)
    assert [(p[0]["in_h"], p[0]["in_w"], p[0]["in_c"], p[0]["up"], p[0]["s_log"], p[0]["out_w"], p[0]["m_bound"])
            for p in programs] == [(4, 4, 4, 0, 0, 4, 16), (4, 4, 16, 1, 0, 8, 64), (8, 8, 16, 1, 0, 16, 256),
                                   (16, 16, 16, 0, 1, 8, 64)]
    assert [c["ring_words"] for c in schedule["cores"]] == [64, 256, 512, 1024]
    assert len(schedule["streams"]) == 3
    assert schedule["activation_buffer_bytes"] <= schedule["budget"]["buffer_bytes"]


@pytest.mark.parametrize("argv, needle", [
    (["--kernel", "resnet", "--variant", "intar"], "--kernel"),
    (["--kernel", "mlp", "--variant", "systolic"], "--variant"),
    (["--kernel", "mlp", "--variant", "sequential", "--lanes", "12"], "--lanes"),
    (["--kernel", "mlp", "--variant", "sequential", "--size", "d_h1=100"], "--lanes"),
    (["--kernel", "mlp", "--variant", "sequential", "--size", "d_h1=x"], "--size"),
    (["--kernel", "ffn", "--variant", "dataflow", "--cores", "1"], "--cores"),
    (["--kernel", "cnn", "--variant", "sequential", "--size", "channels=24"], "--lanes"),
    (["--kernel", "cnn", "--variant", "dataflow", "--size", "channels=0"], "--size"),
    (["--kernel", "cnn", "--variant", "intar", "--size", "tokens=8"], "--size"),
    (["--kernel", "cnn", "--variant", "dataflow", "--cores", "3"], "--cores"),
    (["--kernel", "cnn", "--variant", "dataflow", "--buffer-bytes", "1024"], "--buffer-bytes"),
    (["--kernel", "cnn", "--variant", "sequential", "--size", "height=3", "--size", "width=5", "--size", "c_in=3"],
     "--words-per-cycle"),
])
def test_bad_parameters_exit_2_with_one_line(tmp_path, capsys, argv, needle):
    assert main(["hw", "generate", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and needle in err
