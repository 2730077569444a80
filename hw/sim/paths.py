"""Locations of generated files: everything lives under ``<repo root>/sim_build`` (git-ignored)."""

from __future__ import annotations

from pathlib import Path

#: The repository root, found from this package's location (``<root>/hw/sim/paths.py``).
REPO_ROOT = Path(__file__).resolve().parents[2]


def sim_build_dir() -> Path:
    """``<repo root>/sim_build``: Verilator builds, cached RTL and resource reports."""
    return REPO_ROOT / "sim_build"
