"""``deepsocs``: the learned scheduler as a regular :class:`~soc_emu.schedulers.base.Scheduler`.

``soc-emu run --scheduler deepsocs`` loads the shipped checkpoint (``--model PATH`` another one) and acts
greedily: at every decision point it picks the highest-scoring candidate task, gives it the queue priority
of the network's priority head and maps it to the PE of the decision rule (earliest estimated finish, or
the network's PE head when the checkpoint has one). The engine reopens the decision at the same time while
ready tasks remain, so each pick sees the previous ones.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from agents.checkpoint import LoadedModel, load_checkpoint
from agents.features import DecisionRule, Featurizer
from agents.policy import Policy
from soc_emu.engine.view import Assignment, Binding, SystemView
from soc_emu.errors import SocEmuError
from soc_emu.model.platform import Platform
from soc_emu.schedulers.base import Scheduler


class DeepSoCSScheduler(Scheduler):
    """Learned hierarchical graph scheduler (Decima/DeepSoCS style). It acts through the numpy copy of the
    network (:class:`agents.inference.FastNet`), so torch's process-level thread count plays no part.

    Parameters
    ----------
    model_path:
        Checkpoint to load (default: the one shipped in ``agents/checkpoints``).
    binding:
        Override the binding the checkpoint was trained with (the decision rule follows it).
    sample:
        Sample actions from the policy instead of taking the best one (uses the run's scheduler
        generator, so a seed still fixes the run).
    """

    name: ClassVar[str] = "deepsocs"
    default_binding: ClassVar[Binding] = Binding.ON_READY
    dispatch_order: ClassVar[str] = "first_ready"
    description: ClassVar[str] = "learned hierarchical graph agent (PyTorch)"

    def __init__(
        self,
        *,
        model_path: str | None = None,
        binding: Binding | str | None = None,
        sample: bool = False,
        loaded: LoadedModel | None = None,
    ) -> None:
        model = loaded if loaded is not None else load_checkpoint(model_path)
        if isinstance(binding, str):
            try:
                binding = Binding(binding)
            except ValueError:
                raise SocEmuError(f"unknown binding {binding!r} (on_ready, late)", source="--binding") from None
        rule = model.rule
        if binding is not None and binding != rule.binding:
            rule = DecisionRule(binding, rule.slack, rule.pe_slack)
        super().__init__(binding=rule.binding)
        self.model = model
        self.rule = rule
        self.sample = sample
        self.policy: Policy | None = None

    def reset(self, platform: Platform, rng: np.random.Generator) -> None:
        super().reset(platform, rng)
        self.policy = Policy(self.model.net, Featurizer(platform, self.rule))

    def decide(self, view: SystemView) -> list[Assignment]:
        assert self.policy is not None, "reset() must be called before decide()"
        assignment, _ = self.policy.decide(view, self.rng if self.sample else None)
        return [] if assignment is None else [assignment]
