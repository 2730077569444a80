"""The gymnasium environment: API conformance, masks, rewards."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from agents.env import SchedulingEnv
from soc_emu.engine.options import FailureModel
from soc_emu.engine.view import Binding
from soc_emu.errors import SocEmuError


def test_check_env_passes() -> None:
    check_env(SchedulingEnv(num_jobs=4), skip_render_check=True)


def test_check_env_passes_with_pe_choice() -> None:
    check_env(SchedulingEnv(num_jobs=3, pe_choice=True), skip_render_check=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate_jobs_per_ms": 80.0},
        {"rate_jobs_per_ms": 60.0, "pe_choice": True, "noise_rsd": 0.3},
        {"rate_jobs_per_ms": 60.0, "failures": FailureModel(3000.0, 500.0)},
        {"rate_jobs_per_ms": 40.0, "binding": Binding.LATE, "pe_choice": True},
        {"platform": "ds3", "rate_jobs_per_ms": 20.0, "priority": "fifo"},
    ],
)
def test_random_masked_actions_are_always_legal(kwargs: dict) -> None:
    """Random actions drawn from the mask, over whole episodes, are never rejected by the engine (the env
    raises on any masked-out action and the engine raises InvalidAssignment on an illegal one)."""
    env = SchedulingEnv(num_jobs=25, invalid_action="raise", **kwargs)
    rng = np.random.default_rng(0)
    for episode in range(2):
        obs, info = env.reset(seed=episode)
        steps = 0
        total = 0.0
        while True:
            mask = info["action_mask"]
            assert np.array_equal(mask, obs["action_mask"]) and np.array_equal(mask.astype(bool), env.action_masks())
            legal = np.flatnonzero(mask)
            assert legal.size > 0
            obs, reward, terminated, truncated, info = env.step(int(rng.choice(legal)))
            assert not info["invalid_action"]
            total += reward
            steps += 1
            if terminated or truncated:
                break
        assert terminated and info["jobs_completed"] == 25
        # The rewards sum to minus the mean job latency in units of 100 us.
        assert total == pytest.approx(-info["mean_latency_us"] / 100.0, rel=1e-9)
        assert steps >= 25


def test_masked_out_action_raises_when_asked() -> None:
    env = SchedulingEnv(num_jobs=3, invalid_action="raise")
    _, info = env.reset(seed=0)
    illegal = int(np.flatnonzero(info["action_mask"] == 0)[0])
    with pytest.raises(ValueError, match="masked out"):
        env.step(illegal)


def test_truncation_at_time_limit() -> None:
    env = SchedulingEnv(num_jobs=200, max_time_us=500.0)
    _, info = env.reset(seed=1)
    while True:
        _, _, terminated, truncated, info = env.step(int(np.flatnonzero(info["action_mask"])[0]))
        if terminated or truncated:
            break
    assert truncated and not terminated and info["time_us"] >= 500.0


def test_observation_too_large_is_a_clear_error() -> None:
    env = SchedulingEnv(num_jobs=5, max_nodes=4)
    with pytest.raises(SocEmuError, match="max_nodes"):
        env.reset(seed=0)
