"""``soc-emu hw generate``: Verilog and schedule files, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import re

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
    assert tight["padding"] == {}


def test_generate_an_unaligned_size_records_the_padding(tmp_path):
    assert main(["hw", "generate", "--kernel", "mlp", "--variant", "sequential", "--size", "d_h1=200",
                 "--size", "d_in=7", "--out", str(tmp_path)]) == 0
    schedule = json.loads((tmp_path / "mlp_sequential_schedule.json").read_text())
    assert schedule["decisions"]["sizes"]["d_h1"] == 200
    assert schedule["padding"]["w1"] == {"shape": [7, 200], "padded_shape": [8, 208]}
    assert schedule["padding"]["x"] == {"shape": [8, 7], "padded_shape": [8, 8]}
    assert schedule["cores"][0]["program"][1]["k_bound"] == 208


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


def test_generate_attention_sequential_writes_semaphores_and_the_softmax_epilogue(tmp_path):
    assert main(["hw", "generate", "--kernel", "attention", "--variant", "sequential", "--out", str(tmp_path)]) == 0
    verilog = (tmp_path / "attention_sequential.v").read_text()
    assert "module top(" in verilog and "$readmemh" in verilog
    assert "/work/" not in verilog and str(tmp_path) not in verilog and "src =" not in verilog
    assert "top.core0.epilogue.softmax" in verilog         # the row-softmax SFU is built into the core
    schedule = json.loads((tmp_path / "attention_sequential_schedule.json").read_text())
    assert schedule["budget"]["lanes"] == 32 and schedule["budget"]["buffer_bytes"] == 2560
    assert schedule["decisions"]["mapping"] == "[kt+v+q+s+o @32]"
    assert schedule["decisions"]["dynamic_weights"] == ["kt", "v"]
    (core,) = schedule["cores"]
    program = {i["task"]: i for i in core["program"]}
    assert list(program) == ["kt", "v", "q", "s", "o"]
    assert {t: (i["m_outer"], i["softmax"], i["w_dep"], i["w_core"], i["w_count"]) for t, i in program.items()} == {
        "kt": (False, False, False, 0, 0), "v": (False, False, False, 0, 0), "q": (False, False, False, 0, 0),
        "s": (True, True, True, 0, 1), "o": (False, False, True, 0, 2)}
    assert (program["kt"]["x_src"], program["kt"]["dst"]) == ("offchip", "offchip")
    regions = {r["name"]: r for r in schedule["offchip_regions"]}
    assert program["kt"]["x_base"] == regions["wk_t"]["line"] and regions["wk_t"]["kind"] == "weights"
    assert program["s"]["w_base"] == regions["kt"]["line"] and regions["kt"]["kind"] == "spill"
    assert program["o"]["w_base"] == regions["v"]["line"] and regions["v"]["kind"] == "spill"
    # Q (32 x 128 = 4096 bytes) exceeds the 2560-byte budget: spilled, and s reads it back from there
    assert schedule["decisions"]["spilled"] == ["q"] and regions["q"]["kind"] == "spill"
    assert (program["q"]["dst"], program["s"]["x_src"]) == ("offchip", "offchip")
    assert program["s"]["x_base"] == regions["q"]["line"]
    assert schedule["activation_buffer_bytes"] == 32 * 32               # only the probabilities stay


def test_generate_attention_dataflow_builds_softmax_and_semaphores_only_where_used(tmp_path):
    assert main(["hw", "generate", "--kernel", "attention", "--variant", "dataflow", "--out", str(tmp_path)]) == 0
    verilog = (tmp_path / "attention_dataflow.v").read_text()
    assert "/work/" not in verilog and "src =" not in verilog
    schedule = json.loads((tmp_path / "attention_dataflow_schedule.json").read_text())
    tasks = [core["program"][0]["task"] for core in schedule["cores"]]
    assert tasks == ["kt", "v", "q", "s", "o"]
    softmax_cores = {int(name) for name in re.findall(r"module \\top\.core(\d+)\.epilogue\.softmax\b", verilog)}
    assert softmax_cores == {tasks.index("s")}
    s, o = schedule["cores"][3]["program"][0], schedule["cores"][4]["program"][0]
    assert (s["w_dep"], s["w_core"], s["w_count"], s["m_outer"], s["softmax"]) == (True, 0, 1, True, True)
    assert (o["w_dep"], o["w_core"], o["w_count"]) == (True, 1, 1)
    # Q streams row by row (q -> s is a rows cut): both ends pixel-major, s frees each row of its ring
    q = schedule["cores"][2]["program"][0]
    assert "=rows=> [s" in schedule["decisions"]["mapping"]
    assert (q["m_outer"], q["dst"], s["x_rows"]) == (True, "stream", True)
    assert o["x_rows"] == ("=rows=> [o" in schedule["decisions"]["mapping"])
    assert schedule["cores"][3]["ring_words"] == 2 * 128
    assert schedule["streams"] == [{"producer": 2, "consumer": 3, "depth": 16},
                                   {"producer": 3, "consumer": 4, "depth": 16}]


@pytest.mark.parametrize("argv, needle", [
    (["--kernel", "resnet", "--variant", "intar"], "--kernel"),
    (["--kernel", "mlp", "--variant", "systolic"], "--variant"),
    (["--kernel", "mlp", "--variant", "sequential", "--lanes", "12"], "--lanes"),
    (["--kernel", "mlp", "--variant", "sequential", "--weight-bytes", "4096"], "--weight-bytes"),
    (["--kernel", "mlp", "--variant", "sequential", "--weight-bytes", "0"], "--weight-bytes"),
    (["--kernel", "attention", "--variant", "intar", "--weight-bytes", "100"], "--weight-bytes"),
    (["--kernel", "mlp", "--variant", "sequential", "--size", "d_h1=-3"], "--size"),
    (["--kernel", "mlp", "--variant", "sequential", "--size", "tokens=5000"], "--size"),
    (["--kernel", "mlp", "--variant", "sequential", "--size", "d_h1=x"], "--size"),
    (["--kernel", "ffn", "--variant", "dataflow", "--cores", "1"], "--cores"),
    (["--kernel", "cnn", "--variant", "sequential", "--size", "channels=24"], "--weight-bytes"),
    (["--kernel", "cnn", "--variant", "dataflow", "--size", "channels=0"], "--size"),
    (["--kernel", "cnn", "--variant", "intar", "--size", "tokens=8"], "--size"),
    (["--kernel", "cnn", "--variant", "dataflow", "--cores", "3"], "--cores"),
    (["--kernel", "cnn", "--variant", "dataflow", "--buffer-bytes", "1024"], "--buffer-bytes"),
    (["--kernel", "attention", "--variant", "dataflow", "--cores", "4"], "--cores"),
    (["--kernel", "attention", "--variant", "dataflow", "--buffer-bytes", "319"], "--buffer-bytes"),
    (["--kernel", "attention", "--variant", "dataflow", "--lanes", "16"], "--lanes"),
    (["--kernel", "attention", "--variant", "sequential", "--lanes", "48"], "--lanes"),
    (["--kernel", "attention", "--variant", "intar", "--size", "seq=0"], "--size"),
    (["--kernel", "attention", "--variant", "intar", "--size", "heads=2"], "--size"),
    (["--kernel", "attention", "--variant", "sequential", "--cores", "0"], "--cores"),
])
def test_bad_parameters_exit_2_with_one_line(tmp_path, capsys, argv, needle):
    assert main(["hw", "generate", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and needle in err
