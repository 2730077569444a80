"""The InTAR planner: per-edge stream / scratchpad / spill and per-task core decisions, lowered to
instruction ROMs and a pruned set of datapaths."""

from __future__ import annotations

from hw.planner.plan import Budget, CorePlan, DesignPlan, Region, StreamPlan
from hw.planner.search import VARIANTS, plan_design

__all__ = ["VARIANTS", "Budget", "CorePlan", "DesignPlan", "Region", "StreamPlan", "plan_design"]
