"""Plain-data model of platforms and workloads. Imports nothing of the engine."""

from soc_emu.model.platform import PE_TYPES, Interconnect, Link, Platform, ProcessingElement
from soc_emu.model.taskgraph import Edge, Task, TaskGraph
from soc_emu.model.workload import ArrivalProcess, JobMix, Workload

__all__ = [
    "PE_TYPES",
    "ArrivalProcess",
    "Edge",
    "Interconnect",
    "JobMix",
    "Link",
    "Platform",
    "ProcessingElement",
    "Task",
    "TaskGraph",
    "Workload",
]
