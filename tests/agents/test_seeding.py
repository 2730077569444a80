"""Seeding without global state: the network's initial weights come from the run's own torch.Generator,
and the same seed gives the same PPO run whatever torch's global generator holds."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agents.checkpoint import load_checkpoint
from agents.model import ModelConfig
from agents.ppo import PPOConfig, Scenario, train_ppo
from agents.seeding import init_parameters, seed_generator, seeded_network

CONFIG = ModelConfig(hidden=16, embed=8, mp_steps=2, pe_head=True, value_head=True)


def test_seeded_network_depends_on_its_generator_only() -> None:
    state = torch.get_rng_state()
    a = seeded_network(CONFIG, seed_generator(7)).state_dict()
    assert torch.equal(state, torch.get_rng_state())  # the global generator was neither read nor advanced
    torch.manual_seed(99)
    b = seeded_network(CONFIG, seed_generator(7)).state_dict()
    c = seeded_network(CONFIG, seed_generator(8)).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(not torch.equal(a[k], c[k]) for k in a)
    # PyTorch's default Linear ranges: |w| and |b| <= 1/sqrt(fan_in).
    w = a["node_in.0.weight"]
    assert 0 < float(w.abs().max()) <= 1 / w.shape[1] ** 0.5


def test_a_parameter_outside_a_linear_layer_is_an_error_not_left_alone() -> None:
    module = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.LayerNorm(2))
    with pytest.raises(TypeError, match="1.weight"):
        init_parameters(module, seed_generator(0))


def test_the_same_seed_gives_the_same_ppo_run(tmp_path: Path, small_checkpoint: Path) -> None:
    config = PPOConfig(scenarios=(Scenario("hetero", "ds3_mix", 60.0, 80.0),), init_checkpoint=str(small_checkpoint),
                       iterations=1, episodes_per_iteration=2, jobs_per_episode=6, workers=1, eval_every=5,
                       eval_seeds=(3,), eval_jobs=6, minibatch_steps=64, seed=4)
    weights = []
    for run, global_seed in enumerate((1, 2)):
        torch.manual_seed(global_seed)  # must not matter
        train_ppo(config, tmp_path / str(run))
        weights.append(load_checkpoint(tmp_path / str(run) / "checkpoint.pt").net.state_dict())
    assert weights[0].keys() == weights[1].keys() and "value_head.0.weight" in weights[0]
    assert all(torch.equal(v, weights[1][k]) for k, v in weights[0].items())
