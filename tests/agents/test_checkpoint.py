"""Bad checkpoints: one clear SocEmuError (exit 2 from the CLI), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.features import DecisionRule
from agents.model import DeepSoCSNet, ModelConfig
from soc_emu.cli import main
from soc_emu.errors import SocEmuError


def test_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(SocEmuError, match="checkpoint file not found"):
        load_checkpoint(tmp_path / "nope.pt")


def test_corrupt_checkpoint(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(b"this is not a torch file")
    with pytest.raises(SocEmuError, match="not a readable checkpoint"):
        load_checkpoint(bad)


def test_foreign_torch_file(tmp_path: Path) -> None:
    path = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(SocEmuError, match="not a DeepSoCS checkpoint"):
        load_checkpoint(path)


def test_incompatible_feature_sizes(tmp_path: Path) -> None:
    path = tmp_path / "old.pt"
    save_checkpoint(path, DeepSoCSNet(ModelConfig(hidden=8, embed=4)), DecisionRule())
    payload = torch.load(path, weights_only=True)
    payload["model"]["node_dim"] += 3
    torch.save(payload, path)
    with pytest.raises(SocEmuError, match="feature sizes"):
        load_checkpoint(path)


@pytest.mark.parametrize("feature_set", [9, "2", None, True])
def test_unknown_feature_set(tmp_path: Path, feature_set: object) -> None:
    path = tmp_path / "future.pt"
    save_checkpoint(path, DeepSoCSNet(ModelConfig(hidden=8, embed=4)), DecisionRule())
    payload = torch.load(path, weights_only=True)
    payload["model"]["feature_set"] = feature_set
    torch.save(payload, path)
    with pytest.raises(SocEmuError, match="feature set"):
        load_checkpoint(path)


def test_a_checkpoint_without_a_feature_set_reads_set_1(tmp_path: Path) -> None:
    """Files written before feature sets had versions (like the shipped one) load with set 1's widths."""
    from agents.features import FEATURE_SETS

    path = tmp_path / "old.pt"
    one = FEATURE_SETS[1]
    save_checkpoint(path, DeepSoCSNet(ModelConfig(hidden=8, embed=4, pe_dim=one.pe_dim, pair_dim=one.pair_dim,
                                                  feature_set=1)), DecisionRule())
    payload = torch.load(path, weights_only=True)
    del payload["model"]["feature_set"]
    torch.save(payload, path)
    assert load_checkpoint(path).net.config.feature_set == 1


def test_weights_that_do_not_fit(tmp_path: Path) -> None:
    path = tmp_path / "mismatch.pt"
    save_checkpoint(path, DeepSoCSNet(ModelConfig(hidden=8, embed=4)), DecisionRule())
    payload = torch.load(path, weights_only=True)
    payload["model"]["hidden"] = 16
    torch.save(payload, path)
    with pytest.raises(SocEmuError, match="weights do not fit"):
        load_checkpoint(path)


def test_save_is_atomic_and_roundtrips(tmp_path: Path) -> None:
    net = DeepSoCSNet(ModelConfig(hidden=8, embed=4))
    path = tmp_path / "a" / "m.pt"
    save_checkpoint(path, net, DecisionRule(), info={"k": 1})
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temporary file left behind
    loaded = load_checkpoint(path)
    assert loaded.info == {"k": 1}
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.net.state_dict()[key], value)


def test_cli_reports_a_bad_model_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(b"\x00garbage")
    code = main(["compare", "--model", str(bad), "--scenarios", "noise0", "--rates", "25", "--seeds", "1",
                 "--jobs", "5", "--schedulers", "etf,deepsocs", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "not a readable checkpoint" in err and str(bad) in err
