"""Optimal schedules: static instances and their CP-SAT model (OR-Tools), for bounds and the `optimal` /
`cpsat` schedulers. Imported on demand only (OR-Tools is not needed to run the heuristics)."""

from soc_emu.optimal.cpsat_model import OBJECTIVES, Solution, SolverLimits, plan_objective, solve
from soc_emu.optimal.instance import InstanceJob, StaticInstance, instance_from_workload

__all__ = [
    "OBJECTIVES",
    "InstanceJob",
    "Solution",
    "SolverLimits",
    "StaticInstance",
    "instance_from_workload",
    "plan_objective",
    "solve",
]
