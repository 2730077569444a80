"""Fixtures for the learned-scheduler tests: a tiny network trained for nothing (weights are random but
seeded), saved as a checkpoint, so tests of the machinery do not depend on the shipped model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agents.checkpoint import save_checkpoint
from agents.features import DecisionRule
from agents.model import DeepSoCSNet, ModelConfig
from soc_emu.engine.view import Binding


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded, untrained network with a PE head, as a checkpoint file."""
    torch.manual_seed(3)
    net = DeepSoCSNet(ModelConfig(hidden=16, embed=8, mp_steps=2, pe_head=True))
    path = tmp_path_factory.mktemp("ckpt") / "small.pt"
    save_checkpoint(path, net, DecisionRule(Binding.ON_READY), info={"note": "untrained test network"})
    return path
