"""``soc-emu list --json``: the catalogue as one JSON object."""

from __future__ import annotations

import json

import pytest

from soc_emu.cli import main
from soc_emu.schedulers.registry import scheduler_names


def test_list_json_names_every_registered_scheduler(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"platforms", "workloads", "schedulers"}
    assert doc["schedulers"] == scheduler_names() and "hetero" in doc["platforms"] and "ds3_mix" in doc["workloads"]
    assert main(["list", "schedulers", "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)) == ["schedulers"]
