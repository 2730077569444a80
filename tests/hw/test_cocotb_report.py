"""``soc-emu hw report``: simulated metrics of every variant of a kernel, as a table and as JSON."""

from __future__ import annotations

import json

import pytest

from soc_emu.cli import main

pytestmark = pytest.mark.hw


def test_report_json_has_metrics_for_every_variant(capsys):
    assert main(["hw", "report", "--kernel", "mlp", "--json", "--seeds", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    designs = {d["variant"]: d for d in report["designs"]}
    assert set(designs) == {"sequential", "dataflow", "intar"}
    for d in designs.values():
        assert d["bit_exact"] and d["runs"] == 2
        assert d["cycles"] > 0 and 0 < d["mac_utilisation"] <= 1
        assert sum(d["cycles_per_task"].values()) >= d["cycles"] * 0.9
        assert d["resources"]["multipliers"] >= d["lanes"]
        assert d["offchip_words"]["read_weights"] > 0
    assert designs["sequential"]["offchip_words"]["write_spills"] > 0
    assert designs["dataflow"]["offchip_words"]["write_spills"] == 0
    assert designs["intar"]["cycles"] <= min(designs["sequential"]["cycles"], designs["dataflow"]["cycles"])
    assert report["speedups"]["per_kernel"]["mlp"]["vs_dataflow"] > 1.2


def test_report_table(capsys):
    assert main(["hw", "report", "--kernel", "ffn", "--variant", "intar", "--no-cells"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("kernel") and "ffn" in out and "yes" in out
