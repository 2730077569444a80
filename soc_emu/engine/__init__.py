"""The SimPy engine and the scheduler interface it exposes."""

from soc_emu.engine.options import FailureModel, RunOptions
from soc_emu.engine.simulation import InvalidAssignment, Simulation, SimulationStalled, simulate
from soc_emu.engine.view import Assignment, Binding, JobState, PEState, SystemView, TaskRef, TaskStatus, Trigger

__all__ = [
    "Assignment",
    "Binding",
    "FailureModel",
    "InvalidAssignment",
    "JobState",
    "PEState",
    "RunOptions",
    "Simulation",
    "SimulationStalled",
    "SystemView",
    "TaskRef",
    "TaskStatus",
    "Trigger",
    "simulate",
]
