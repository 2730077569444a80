"""The agent's teacher: the registered ``srpt_eft`` heuristic, expressed in the agent's action space.

The decision logic lives in one place, :func:`soc_emu.schedulers.srpt_eft.srpt_eft_choice`; this module
only translates it for imitation (DAgger): which of the observation's candidates the heuristic would pick,
the PE it would use, and its queue priority on the agent's log-time scale (the priority head's scale;
queue order is unchanged because the transform is monotone).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from agents.features import Observation, log_time
from soc_emu.engine.view import Assignment, SystemView, TaskRef
from soc_emu.model.platform import Platform
from soc_emu.schedulers.candidates import supporting_table
from soc_emu.schedulers.estimates import MeanCosts
from soc_emu.schedulers.srpt_eft import remaining_work, srpt_eft_choice


class Label(NamedTuple):
    """The teacher's decision at one observation."""

    action: int  #: index into ``obs.candidates``
    pe: int  #: the PE the heuristic chose
    priority: float  #: log-scaled remaining work of the task's job

    def assignment(self, obs: Observation) -> Assignment:
        """The labelled decision as an engine assignment."""
        return Assignment(obs.refs[int(obs.candidates[self.action])], self.pe, self.priority)


class Expert:
    """Labels observations of one platform with the ``srpt_eft`` decision."""

    def __init__(self, platform: Platform) -> None:
        self.means = MeanCosts(platform)
        self.supporting = supporting_table(platform)

    def label(self, view: SystemView, obs: Observation) -> Label | None:
        """The heuristic's choice among ``obs.candidates`` (None when there is none)."""
        if len(obs.candidates) == 0:
            return None
        refs = [obs.refs[int(row)] for row in obs.candidates]
        choice = srpt_eft_choice(view, self.means, self.supporting, ready=refs)
        if choice is None:
            return None
        return Label(refs.index(choice.task), choice.pe, float(log_time(choice.priority)))

    def priority(self, view: SystemView, ref: TaskRef) -> float:
        """The heuristic's queue priority for ``ref`` on the agent's scale (its job's remaining work)."""
        return float(log_time(remaining_work(view, ref.job_id, self.means)))


def pe_option(obs: Observation, action: int, pe: int) -> int:
    """Index of ``pe`` among the PE head's options for candidate ``action`` (the EFT PE's if absent)."""
    options = obs.pair_pes[action]
    hit = np.flatnonzero(options == pe)
    if hit.size:
        return int(hit[0])
    return int(np.flatnonzero(options == obs.candidate_pe[action])[0])
