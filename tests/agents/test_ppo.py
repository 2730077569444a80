"""PPO (agents.ppo) and fine-tuning (``soc-emu train --finetune``): the maths by hand, a tiny run that
changes the weights, and one-line errors for bad fine-tune input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from agents.checkpoint import load_checkpoint
from agents.features import DecisionRule
from agents.ppo import PPOConfig, Scenario, gae, step_rewards, train_ppo
from agents.rollout import run_episode
from soc_emu.cli import main
from soc_emu.engine.simulation import RunOptions
from soc_emu.runner import resolve_scenario


def test_gae_by_hand() -> None:
    rewards = np.array([1.0, 2.0, 3.0])
    values = np.array([0.5, 1.0, 1.5])
    # lambda = 1, gamma = 1: advantage = return to go - value.
    np.testing.assert_allclose(gae(rewards, values, 1.0, 1.0), [6.0 - 0.5, 5.0 - 1.0, 3.0 - 1.5])
    # lambda = 0: one-step TD errors.
    np.testing.assert_allclose(gae(rewards, values, 1.0, 0.0), [1.0 + 1.0 - 0.5, 2.0 + 1.5 - 1.0, 3.0 - 1.5])
    # gamma = 0.5, lambda = 0.5 on the last two steps: delta_2 = 3 - 1.5; delta_1 = 2 + 0.75 - 1; A_1 = delta_1 + 0.25 delta_2.
    np.testing.assert_allclose(gae(rewards, values, 0.5, 0.5)[1:], [1.75 + 0.25 * 1.5, 1.5])


def test_step_rewards_sum_to_minus_the_mean_latency_and_energy_counts() -> None:
    platform, workload = resolve_scenario("hetero", "ds3_mix")
    options = RunOptions(seed=3, num_jobs=20)
    ep = run_episode(platform, workload, options, None, DecisionRule(), mode="expert")
    assert step_rewards(ep).sum() == pytest.approx(-ep.mean_latency_us / 100.0)
    weighted = run_episode(platform, workload, options, None, DecisionRule(), mode="expert", energy_weight=0.5)
    assert weighted.energy_uj > 0 and weighted.energy_uj == pytest.approx(ep.energy_uj)
    assert step_rewards(weighted).sum() == pytest.approx(-(ep.mean_latency_us + 0.5 * ep.energy_uj / ep.jobs) / 100.0)


def test_tiny_ppo_run_changes_the_weights_and_adds_a_value_head(tmp_path: Path, small_checkpoint: Path) -> None:
    # Episodes on random variations of hetero (PE counts, types, speeds, links); evaluations on hetero itself.
    config = PPOConfig(scenarios=(Scenario("hetero", "ds3_mix", 60.0, 80.0, random_platforms=True),), init_checkpoint=str(small_checkpoint),
                       iterations=2, episodes_per_iteration=2, jobs_per_episode=8, workers=1, eval_every=1,
                       eval_seeds=(3,), eval_jobs=8, minibatch_steps=64)
    result = train_ppo(config, tmp_path)
    before = load_checkpoint(small_checkpoint).net.state_dict()
    after = load_checkpoint(tmp_path / "checkpoint.pt").net
    assert after.value_head is not None
    assert any(not torch.equal(before[k], after.state_dict()[k]) for k in before)
    assert [row["iteration"] for row in result.history] == [0, 1, 2]
    assert result.best_ratio is not None and result.best_ratio > 0


def test_finetune_end_to_end_reports_the_best_heuristic(tmp_path: Path, small_checkpoint: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    args = ["train", "--finetune", str(small_checkpoint), "--out", str(tmp_path), "--platform", "hetero", "--rate-min", "40",
            "--rate-max", "60", "--time-budget", "0.02", "--workers", "1", "--jobs-per-episode", "6", "--rollouts", "1",
            "--eval-jobs", "6", "--test-seeds", "1001", "--test-jobs", "10", "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "learned vs best heuristic" in out and "srpt_eft" in out and "heft" in out
    assert (tmp_path / "best.pt").is_file()


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        (["--platform", "no_such_platform"], "no_such_platform"),
        (["--time-budget", "0"], "--time-budget"),
        (["--scenario", "hetero:ds3_mix:40:60:sometimes"], "--scenario"),
    ],
)
def test_bad_finetune_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
                                                    where: str) -> None:
    assert main(["train", "--finetune", "--out", str(tmp_path), "--quiet", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("soc-emu: error:") and where in err and "\n" not in err


def test_finetune_from_a_checkpoint_with_other_features_is_one_line_and_exit_2(tmp_path: Path, small_checkpoint: Path,
                                                                               capsys: pytest.CaptureFixture[str]) -> None:
    payload = torch.load(small_checkpoint, weights_only=True)
    payload["model"]["node_dim"] += 3
    bad = tmp_path / "old_features.pt"
    torch.save(payload, bad)
    assert main(["train", "--finetune", str(bad), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("soc-emu: error: --finetune") and "feature sizes" in err and "\n" not in err
