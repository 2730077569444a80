"""Training rollouts on the study backends: the same :class:`RolloutJob` values give the same episodes on
the local backend (in process or on 2 workers) and on Ray; ``soc-emu train --backend ray`` trains the
same network as the local backend; bad backend flags are one line and exit status 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from agents.checkpoint import load_checkpoint
from agents.rollout import Episode, RolloutJob, run_job
from soc_emu.cli import main
from soc_emu.engine.options import FailureModel, RunOptions
from soc_emu.study.backends import make_backend

from test_training import TINY


def _jobs(small_checkpoint: Path) -> list[RolloutJob]:
    loaded = load_checkpoint(small_checkpoint)
    weights = {k: v.clone() for k, v in loaded.net.state_dict().items()}
    jobs = [RolloutJob("hetero", "ds3_mix", 50.0, RunOptions(seed=seed, num_jobs=12, noise_rsd=0.2), loaded.rule,
                       model=loaded.net.config, weights=weights, mode="sample", sigma=0.2, policy_seed=seed + 100)
            for seed in range(3)]
    jobs.append(RolloutJob("hetero", "ds3_mix", 70.0, RunOptions(seed=9, num_jobs=12, failures=FailureModel(3_000.0, 500.0)),
                           loaded.rule, model=loaded.net.config, weights=weights, mode="greedy", label=True))
    jobs.append(RolloutJob("ds3", "ds3_mix", 20.0, RunOptions(seed=4, num_jobs=8), loaded.rule, mode="expert"))
    return jobs


def _summary(ep: Episode) -> tuple:  # type: ignore[type-arg]
    """Everything an episode says, observations included (as bytes)."""
    steps = [(s.action, s.pe_action, s.priority, s.sigma, s.time_us, s.obs.nodes.tobytes(), s.obs.candidates.tobytes())
             for s in ep.steps]
    return (steps, ep.areas, ep.expert_actions, ep.expert_priorities, ep.total_latency, ep.energy_uj, ep.jobs,
            ep.mean_latency_us, ep.p95_latency_us)


def test_the_same_rollout_jobs_give_the_same_episodes_on_every_backend(small_checkpoint: Path, ray_session: Any) -> None:
    jobs = _jobs(small_checkpoint)
    in_process = [_summary(run_job(job)) for job in jobs]
    local = [_summary(ep) for ep in make_backend("local", workers=2).map(run_job, jobs)]
    on_ray = [_summary(ep) for ep in make_backend("ray", workers=2).map(run_job, jobs)]
    assert in_process == local == on_ray
    assert all(s[6] > 0 for s in in_process) and len(in_process[3][2]) == len(in_process[3][0]) > 0


def test_training_on_ray_trains_the_network_the_local_backend_trains(tmp_path: Path, ray_session: Any) -> None:
    args = ["train", "--rl-iterations", "1", "--seed", "2", *TINY]
    assert main([*args, "--out", str(tmp_path / "local")]) == 0  # TINY has --workers 1: in this process
    assert main([*args, "--out", str(tmp_path / "ray"), "--backend", "ray", "--workers", "2"]) == 0
    local = load_checkpoint(tmp_path / "local" / "checkpoint.pt").net.state_dict()
    on_ray = load_checkpoint(tmp_path / "ray" / "checkpoint.pt").net.state_dict()
    assert all(torch.equal(v, on_ray[k]) for k, v in local.items())
    assert ray_session.is_initialized()


@pytest.mark.parametrize(("flags", "needle"), [
    (["--backend", "nope"], "soc-emu: error: --backend: invalid choice: 'nope'"),
    (["--address", "127.0.0.1:1"], "soc-emu: error: --address: only the ray backend joins a cluster"),
    (["--backend", "ray", "--address", "nowhere"], "soc-emu: error: --address nowhere: expected auto or HOST:PORT"),
    (["--finetune", "--backend", "ray", "--address", "nowhere"], "soc-emu: error: --address nowhere: expected auto or HOST:PORT"),
])
def test_bad_backend_flags_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str],
                                                   needle: str) -> None:
    assert main(["train", "--out", str(tmp_path / "o"), "--quiet", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith(needle) and err.count("\n") == 1, err
    assert not (tmp_path / "o" / "checkpoint.pt").exists()
