"""The deployed scheduler: shipped checkpoint, determinism, engine invariants, fast inference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.checkpoint import load_checkpoint, shipped_checkpoint
from agents.features import Featurizer
from agents.inference import FastNet
from agents.policy import collate
from agents.scheduler import DeepSoCSScheduler
from soc_emu.engine.invariants import InvariantChecker
from soc_emu.engine.options import FailureModel, RunOptions
from soc_emu.engine.simulation import Simulation, simulate
from soc_emu.engine.view import Binding
from soc_emu.output.metrics import MetricsObserver
from soc_emu.runner import ArrivalOverrides, RunConfig, apply_overrides, execute, resolve_scenario
from soc_emu.schedulers.registry import make_scheduler


class TaskLog:
    """Observer keeping every task record (to compare two runs exactly)."""

    def __init__(self) -> None:
        self.records: list = []

    def on_task(self, record) -> None:  # type: ignore[no-untyped-def]
        self.records.append(record)


def _scenario(rate: float, platform: str = "hetero"):  # type: ignore[no-untyped-def]
    p, w = resolve_scenario(platform, "ds3_mix")
    return p, apply_overrides(w, ArrivalOverrides(rate_jobs_per_ms=rate))


def test_shipped_checkpoint_loads_and_is_small() -> None:
    path = shipped_checkpoint()
    assert path.is_file() and path.stat().st_size < 2_000_000
    model = load_checkpoint()
    assert model.info.get("platform") == "hetero" and model.info.get("workload") == "ds3_mix"


def test_registry_builds_the_shipped_agent_and_runs_are_repeatable() -> None:
    """``--scheduler deepsocs`` uses the shipped model; the same seed gives the same trace bit for bit."""
    platform, workload = _scenario(50.0)
    traces = []
    for _ in range(2):
        log = TaskLog()
        scheduler = make_scheduler("deepsocs")
        simulate(platform, workload, scheduler, RunOptions(seed=7, num_jobs=40, noise_rsd=0.1), observers=[log])
        traces.append(log.records)
    assert len(traces[0]) > 0 and traces[0] == traces[1]


def test_shipped_agent_through_the_runner() -> None:
    result = execute(RunConfig(scheduler="deepsocs", options=RunOptions(seed=3, num_jobs=30)))
    assert result.metrics["jobs_completed"] == 30
    assert result.config["scheduler"]["binding"] == "on_ready"


@pytest.mark.parametrize(
    ("rate", "options", "binding", "platform"),
    [
        (60.0, {"noise_rsd": 0.3}, None, "hetero"),
        (40.0, {"failures": FailureModel(4000.0, 800.0)}, None, "hetero"),
        (40.0, {"noise_rsd": 0.1}, Binding.LATE, "hetero"),
        (15.0, {"failures": FailureModel(4000.0, 800.0), "noise_rsd": 0.1}, None, "ds3"),
    ],
)
def test_agent_runs_pass_the_invariant_checker(small_checkpoint, rate, options, binding, platform) -> None:  # type: ignore[no-untyped-def]
    """Greedy and sampling agents (with a PE head) under noise, failures and late binding keep every rule
    of the engine, and finish every job."""
    p, w = _scenario(rate, platform)
    for sample in (False, True):
        checker = InvariantChecker(w)
        metrics = MetricsObserver()
        scheduler = DeepSoCSScheduler(model_path=str(small_checkpoint), binding=binding, sample=sample)
        sim = simulate(p, w, scheduler, RunOptions(seed=11, num_jobs=40, **options), observers=[checker, metrics])
        checker.check()
        assert checker.jobs_checked == 40 and sim.jobs_completed == 40
        if "failures" in options:
            assert metrics.result()["pe_failures"] > 0


def test_numpy_inference_matches_the_torch_network(small_checkpoint) -> None:  # type: ignore[no-untyped-def]
    model = load_checkpoint(str(small_checkpoint))
    fast = FastNet(model.net)
    p, w = _scenario(90.0)
    featurizer = Featurizer(p, model.rule, pair_features=True)
    sim = Simulation(p, w, RunOptions(seed=5, num_jobs=60))
    expert = make_scheduler("etf")
    expert.reset(p, sim.scheduler_rng())
    view = sim.next_decision()
    compared = 0
    while view is not None:
        obs = featurizer.observe(view)
        if len(obs.candidates) > 1 and compared < 25:
            h, y, z, pe_e = fast.embed(obs)
            logits = fast.task_logits(obs, h, y, z)
            with torch.inference_mode():
                batch = collate([obs], [0], pe_head=True)
                th, ty, tz, tpe = model.net.embed(batch)
                ref = model.net.task_logits(batch, th, ty, tz)[0].numpy()
                ref_pe = model.net.pe_logits(batch, th, ty, tz, tpe)[0, : len(obs.pair_pes[0])].numpy()
                ref_prio = float(model.net.priority_mean(batch, batch.cand_index[0, :1], th, ty, tz)[0])
            np.testing.assert_allclose(logits, ref, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(fast.pe_logits(obs, 0, h, y, z, pe_e), ref_pe, rtol=1e-4, atol=1e-5)
            assert fast.priority_mean(obs, 0, h, y, z) == pytest.approx(ref_prio, rel=1e-4, abs=1e-5)
            compared += 1
        sim.submit(expert.decide(view))
        view = sim.next_decision()
    assert compared == 25
