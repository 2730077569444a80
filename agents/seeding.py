"""Seeded network weights from a local :class:`torch.Generator`, never from torch's global generator.

A training run owns one ``torch.Generator`` made from its seed and draws every initial weight from it
(:func:`seeded_network`), so the same seed gives the same network whatever else the process did with
torch's global random state (other runs, tests, a notebook), and a run neither reads nor advances it.

The distributions are PyTorch's defaults for :class:`torch.nn.Linear` (``kaiming_uniform_(a=sqrt(5))``
for the weight, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for the bias), the layers the network is made of;
a parameter outside a ``Linear`` layer is an error here, not silently left as it was.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from agents.model import DeepSoCSNet, ModelConfig


def seed_generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed``: the one source of a run's torch randomness."""
    return torch.Generator().manual_seed(int(seed))


def init_parameters(module: nn.Module, generator: torch.Generator) -> None:
    """Redraw every parameter of ``module`` from ``generator`` (PyTorch's ``Linear`` defaults)."""
    drawn: set[int] = set()
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            drawn.add(id(layer.weight))
            if layer.bias is not None:
                bound = 1.0 / math.sqrt(layer.in_features) if layer.in_features > 0 else 0.0
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
                drawn.add(id(layer.bias))
    missed = [name for name, p in module.named_parameters() if id(p) not in drawn]
    if missed:
        raise TypeError(f"init_parameters draws nn.Linear layers only; these parameters are not in one: {missed}")


def seeded_network(config: ModelConfig, generator: torch.Generator) -> DeepSoCSNet:
    """A new :class:`DeepSoCSNet` of ``config`` whose weights all come from ``generator``. The layers are
    built on the ``meta`` device first, so their default initialisation never draws from (or advances)
    torch's global generator."""
    with torch.device("meta"):
        net = DeepSoCSNet(config)
    net = net.to_empty(device="cpu")
    init_parameters(net, generator)
    return net
