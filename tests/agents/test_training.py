"""Training: a tiny run through the CLI finishes in seconds, changes the weights, logs, checkpoints,
resumes, and is repeatable from its seed."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.checkpoint import load_checkpoint
from agents.rollout import Episode, input_dependent_baseline
from agents.policy import Step
from agents.training import TrainConfig, Trainer
from soc_emu.cli import main

TINY = ["--jobs-per-episode", "6", "--expert-episodes", "1", "--dagger-rounds", "1", "--dagger-episodes", "1",
        "--imitation-epochs", "1", "--rollouts", "2", "--workers", "1", "--eval-every", "1",
        "--hidden", "16", "--embed", "8", "--mp-steps", "2", "--eval-rates", "40", "--eval-seeds", "3",
        "--eval-jobs", "6", "--quiet"]


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path).net.state_dict()


def test_tiny_training_run_changes_weights_and_logs(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--rl-iterations", "2", "--seed", "5", *TINY]) == 0
    rows = list(csv.DictReader(open(out / "train_log.csv")))
    phases = [r["phase"] for r in rows]
    assert phases.count("rl") == 2 and "imitation" in phases
    rl = [r for r in rows if r["phase"] == "rl"]
    assert all(float(r["rollout_latency_us"]) > 0 and r["eval_latency_us"] for r in rl)
    # The weights moved away from their seeded initial values.
    from agents.model import ModelConfig
    from agents.seeding import seed_generator, seeded_network

    init = seeded_network(ModelConfig(hidden=16, embed=8, mp_steps=2), seed_generator(5)).state_dict()
    trained = _weights(out / "checkpoint.pt")
    assert any(not torch.equal(init[k], trained[k]) for k in init)
    assert load_checkpoint(out / "best.pt").info["platform"] == "hetero"

    # The same seed gives the same weights, whatever torch's global random state (the run never reads it);
    # a run stopped by its time budget and resumed ends where an uninterrupted one does.
    torch.manual_seed(12345)
    again = tmp_path / "again"
    assert main(["train", "--out", str(again), "--rl-iterations", "2", "--seed", "5", *TINY]) == 0
    assert all(torch.equal(v, _weights(again / "checkpoint.pt")[k]) for k, v in trained.items())
    cut = tmp_path / "cut"
    assert main(["train", "--out", str(cut), "--rl-iterations", "2", "--seed", "5", "--time-budget", "1e-6", *TINY]) == 0
    assert load_checkpoint(cut / "checkpoint.pt").trainer["iteration"] == 0
    assert main(["train", "--out", str(cut), "--rl-iterations", "2", "--seed", "5", "--resume", *TINY]) == 0
    assert load_checkpoint(cut / "checkpoint.pt").trainer["iteration"] == 2
    assert all(torch.equal(v, _weights(cut / "checkpoint.pt")[k]) for k, v in trained.items())


def test_input_dependent_baseline_is_the_mean_return_to_go_at_equal_times() -> None:
    def episode(times: list[float], areas: list[float], total: float) -> Episode:
        ep = Episode(steps=[Step(None, 0, time_us=t) for t in times], areas=areas, total_latency=total, jobs=1)  # type: ignore[arg-type]
        return ep

    a = episode([0.0, 10.0], [0.0, 100.0], 300.0)  # returns-to-go -3, -2 (units of 100 us)
    b = episode([0.0, 10.0], [0.0, 100.0], 500.0)  # -5, -4
    base = input_dependent_baseline([a, b])
    np.testing.assert_allclose(base[0], [-4.0, -3.0])
    np.testing.assert_allclose(base[1], [-4.0, -3.0])
    np.testing.assert_allclose(a.returns_to_go() - base[0], [1.0, 1.0])


def test_bad_training_options_are_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--out", str(tmp_path), "--rollouts", "0", "--quiet"]) == 2
    assert "--rollouts" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "none"), "--resume", "--quiet"]) == 2
    assert "checkpoint file not found" in capsys.readouterr().err


def test_config_validation() -> None:
    with pytest.raises(Exception, match="rate"):
        Trainer(TrainConfig(rate_min=10.0, rate_max=5.0), "/tmp/unused-never-written")
