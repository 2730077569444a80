"""Synthetic workloads (random task graphs)."""

from soc_emu.workloads.random_dag import RandomDagSpec, generate, parse_random_spec

__all__ = ["RandomDagSpec", "generate", "parse_random_spec"]
