"""The SimPy engine and the scheduler interface it exposes."""

from soc_emu.engine.view import Assignment, Binding, JobState, PEState, SystemView, TaskRef, TaskStatus, Trigger

__all__ = ["Assignment", "Binding", "JobState", "PEState", "SystemView", "TaskRef", "TaskStatus", "Trigger"]
