"""Guards against non-finite numbers and absurd sizes in the learned scheduler's models and training.

* :data:`MODEL_LIMITS`: the documented ranges of the network sizes, shared by ``soc-emu train`` flags
  and checkpoint metadata (a checkpoint claiming ``hidden = 10**9`` is refused before any allocation).
* :func:`require_finite_tensors`: every loaded weight must be finite.
* :func:`require_finite_step`: training stops with one error the first time the loss or a weight
  becomes NaN or infinite, instead of writing an all-NaN checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from soc_emu.errors import SocEmuError
from soc_emu.limits import Range

#: Network sizes a checkpoint or ``soc-emu train`` may ask for.
MODEL_LIMITS: dict[str, Range] = {
    "hidden": Range(2, 1024, "units", integer=True),
    "embed": Range(1, 1024, "units", integer=True),
    "mp_steps": Range(0, 32, "steps", integer=True),
}


def check_model_sizes(sizes: Mapping[str, object], where: str) -> None:
    """Each of :data:`MODEL_LIMITS` present in ``sizes`` must lie in its range."""
    for name, limit in MODEL_LIMITS.items():
        if name in sizes:
            limit.check(sizes[name], f"{where}: model.{name}")


def require_finite_tensors(tensors: Mapping[str, object], where: str) -> None:
    """Every entry must be a tensor of finite numbers (the first offending name is reported)."""
    for name, tensor in tensors.items():
        if not isinstance(tensor, torch.Tensor):
            raise SocEmuError(f"weight {name!r} is not a tensor", source=where)
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise SocEmuError(f"weight {name!r} holds NaN or infinite values", source=where)


def require_finite_step(loss: float, net: nn.Module, where: str) -> None:
    """After an optimiser step: the loss and every parameter must be finite, else training stops."""
    if not math.isfinite(loss):
        raise SocEmuError(f"the training loss became {loss} at {where}; lower the learning rate (--lr)",
                          source="train")
    for name, param in net.named_parameters():
        if not bool(torch.isfinite(param).all()):
            raise SocEmuError(f"weight {name!r} became NaN or infinite at {where}; lower the learning rate "
                              "(--lr)", source="train")
